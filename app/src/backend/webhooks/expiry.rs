//! Scheduled expiry events (`token.expiring`, `token.expired`): a scan each worker runs every
//! minute. Which notices are due is the domain's rule (`due_expiry_notices`); which process
//! sends one is decided by a unique row per token and threshold in `webhook_expiry_notices`:
//! the insert that wins (`ON CONFLICT DO NOTHING RETURNING`) writes the event, in the same
//! transaction, so each notice is sent once however many processes scan.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::outbox::emit_token_event;
use crate::backend::db::schema::{tokens, webhook_expiry_notices};
use crate::backend::db::{dispatch, Conn};
use crate::backend::repo::tokens::TokenRow;
use crate::backend::repo::webhooks as repo;
use crate::domain::token_status::status_at;
use crate::domain::webhook::{due_expiry_notices, EventType, EXPIRED_NOTICE, EXPIRY_NOTICE_DAYS};
use crate::model::TokenStatus;

const DAY: i64 = 86_400;
/// Tokens one scan looks at per notice at most (the nearest expiries first; the rest wait a
/// minute).
const BATCH: i64 = 1000;

/// Writes the expiry events due at `now` and returns how many notices were sent. Nothing is
/// done while no enabled endpoint subscribes to either event.
pub async fn scan(conn: &mut Conn<'_>, now: i64) -> QueryResult<usize> {
    let subscriptions: Vec<(i64, String)> = repo::enabled_subscriptions(conn)
        .await?
        .into_iter()
        .filter(|(_, events)| {
            events.split(',').any(|e| {
                e == EventType::TokenExpiring.as_str() || e == EventType::TokenExpired.as_str()
            })
        })
        .collect();
    if subscriptions.is_empty() {
        return Ok(0);
    }
    // One band per threshold: the tokens for which it is the nearest notice due now and not yet
    // recorded. Recorded tokens leave their band, so a scan never stalls on the same first rows
    // however many tokens expire in the coming fortnight.
    let mut candidates: Vec<(TokenRow, bool)> = Vec::new();
    let bands =
        std::iter::once((EXPIRED_NOTICE, None)).chain(EXPIRY_NOTICE_DAYS.iter().rev().scan(
            EXPIRED_NOTICE,
            |lower, t| {
                let band = (*t, Some(*lower));
                *lower = *t;
                Some(band)
            },
        ));
    for (threshold, lower) in bands {
        let (from, to) = match lower {
            // Expired during the last day.
            None => (now - DAY, now),
            Some(lower) => (
                now + i64::from(lower) * DAY,
                now + i64::from(threshold) * DAY,
            ),
        };
        let lead = i64::from(threshold) * DAY;
        let recorded = webhook_expiry_notices::table
            .filter(webhook_expiry_notices::token_id.eq(tokens::id))
            .filter(webhook_expiry_notices::threshold.eq(threshold));
        let rows: Vec<(TokenRow, bool)> = dispatch!(conn, |c| tokens::table
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::owner_disabled.eq(false))
            .filter(tokens::expires_at.gt(from))
            .filter(tokens::expires_at.le(to))
            // Only thresholds still ahead when the token was created.
            .filter(tokens::created_at.le(tokens::expires_at.assume_not_null() - lead))
            .filter(diesel::dsl::not(diesel::dsl::exists(recorded)))
            .order((tokens::expires_at, tokens::id))
            .limit(BATCH)
            .select((TokenRow::as_select(), tokens::owner_disabled))
            .load(c)
            .await)?;
        candidates.extend(rows);
    }
    let mut sent = 0;
    for (row, owner_disabled) in candidates {
        let Some(expires_at) = row.expires_at else {
            continue;
        };
        // A revoked token, or one whose owner is disabled, gets no notice (the query leaves
        // them out already; the status rule is the one the token table shows).
        let status = status_at(
            row.revoked_at.is_some(),
            row.expires_at,
            owner_disabled,
            now,
        );
        if matches!(status, TokenStatus::Revoked | TokenStatus::OwnerDisabled) || owner_disabled {
            continue;
        }
        for notice in due_expiry_notices(row.created_at, expires_at, now) {
            let won: Option<(i64, i32)> =
                dispatch!(conn, |c| diesel::insert_into(webhook_expiry_notices::table)
                    .values((
                        webhook_expiry_notices::token_id.eq(row.id),
                        webhook_expiry_notices::threshold.eq(notice.threshold),
                        webhook_expiry_notices::emitted_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .returning((
                        webhook_expiry_notices::token_id,
                        webhook_expiry_notices::threshold
                    ))
                    .get_result(c)
                    .await
                    .optional())?;
            if won.is_none() || !notice.emit {
                continue;
            }
            let (event, extra) = if notice.threshold == 0 {
                (EventType::TokenExpired, json!({}))
            } else {
                (
                    EventType::TokenExpiring,
                    json!({ "days": notice.threshold }),
                )
            };
            emit_token_event(conn, &subscriptions, event, &row, extra, now).await?;
            sent += 1;
        }
    }
    Ok(sent)
}
