//! The stale-token policy (issue 14): Admins set "revoke tokens unused for N days" and see a
//! preview first; the background worker runs `run` every hour. The timing rules are the
//! domain's (`domain::stale`); one warning per token and quiet spell is decided by the row in
//! `token_stale_warnings`, so several processes running the job warn and revoke each token once.

use serde_json::json;

use super::audit::{self, action, Target};
use crate::backend::clock::Clock;
use crate::backend::db::Db;
use crate::backend::principal::Principal;
use crate::backend::repo::settings as settings_repo;
use crate::backend::repo::stale as repo;
use crate::backend::repo::webhooks::enabled_subscriptions;
use crate::backend::state::AppState;
use crate::backend::webhooks::outbox::emit_token_event;
use crate::domain::webhook::EventType;
use crate::domain::{policy, stale, timefmt};
use crate::errors::AppError;
use crate::model::{OrgSettings, RevokeReason, StalePreview, StaleToken};

/// Tokens the preview names at most.
const PREVIEW_NAMES: i64 = 20;
/// Tokens one transaction of the job warns or revokes.
const BATCH: i64 = 500;
/// Who the tokens' "revoked by" names.
const REVOKED_BY: &str = "Keyward (stale-token policy)";

fn require_admin(me: &Principal) -> Result<(), AppError> {
    me.require_session()?;
    me.require(
        policy::can_manage_settings(me.role),
        "Only Admins can change settings.",
    )
}

/// What the policy would do with `days` (the settings field's text) if saved now.
pub async fn preview(
    state: &AppState,
    me: &Principal,
    days: &str,
) -> Result<StalePreview, AppError> {
    require_admin(me)?;
    let Some(days) = stale::parse_days(days)? else {
        return Err(AppError::invalid(
            "stale_token_days",
            "Enter the number of days to preview.",
        ));
    };
    let now = state.clock.now();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let (count, rows) =
        repo::quiet(&mut conn, now, stale::warn_cutoff(days, now), PREVIEW_NAMES).await?;
    let (unused_full_period, _) =
        repo::quiet(&mut conn, now, stale::revoke_cutoff(days, now), 0).await?;
    Ok(StalePreview {
        days,
        count,
        unused_full_period,
        tokens: rows
            .into_iter()
            .map(|r| StaleToken {
                id: r.id,
                name: r.name,
                owner: r.owner_name,
                last_used_at: r.last_used_at,
                created_at: r.created_at,
            })
            .collect(),
        revokes_on: now + stale::WARNING_DAYS * stale::DAY,
        now,
        warning_endpoints: enabled_subscriptions(&mut conn)
            .await?
            .iter()
            .filter(|(_, events)| {
                events
                    .split(',')
                    .any(|e| e == EventType::TokenExpiring.as_str())
            })
            .count() as i64,
    })
}

/// Turns the policy on with `days`, or off when `days` is empty.
pub async fn set(state: &AppState, me: &Principal, days: &str) -> Result<OrgSettings, AppError> {
    require_admin(me)?;
    let days = stale::parse_days(days)?;
    let me = me.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let before = super::settings::load(conn).await?;
                // A warning belongs to the policy that sent it: after a change (or off and on
                // again) every token gets the new policy's own week of warning.
                if before.stale_token_days != days {
                    repo::forget_all_warnings(conn).await?;
                }
                match days {
                    Some(d) => {
                        settings_repo::set(
                            conn,
                            settings_repo::STALE_TOKEN_DAYS,
                            &d.to_string(),
                            now,
                        )
                        .await?
                    }
                    None => settings_repo::delete(conn, settings_repo::STALE_TOKEN_DAYS).await?,
                };
                audit::record(
                    conn,
                    &me,
                    action::SETTINGS_UPDATE,
                    Target {
                        kind: "settings",
                        id: None,
                        label: "stale-token policy",
                    },
                    json!({ "stale_token_days": { "from": before.stale_token_days, "to": days } }),
                )
                .await?;
                super::settings::load(conn).await
            })
        })
        .await
}

/// What one run of the job did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Run {
    pub warned: Vec<i64>,
    pub revoked: Vec<i64>,
}

/// The job: warns the tokens that reached `days - 7` quiet days (a `token.expiring` event,
/// reason `unused`), then revokes the ones warned a week ago and still quiet (one audit record
/// each, reason `policy`, with a `token.revoked` event). Nothing happens while the policy is off.
pub async fn run(db: &Db, clock: &Clock) -> Result<Run, AppError> {
    let now = clock.now();
    let days = {
        let mut pooled = db.get().await?;
        super::settings::load(&mut pooled.conn())
            .await?
            .stale_token_days
    };
    let Some(days) = days else {
        return Ok(Run::default());
    };
    let mut done = Run::default();
    loop {
        let warned = db
            .transaction(|conn| {
                Box::pin(async move {
                    let rows =
                        repo::unwarned(conn, now, stale::warn_cutoff(days, now), BATCH).await?;
                    let subscriptions = enabled_subscriptions(conn).await?;
                    let mut warned = Vec::new();
                    for row in &rows {
                        let activity = stale::activity(row.created_at, row.last_used_at);
                        if !repo::record_warning(conn, row.id, activity, now).await? {
                            continue; // another process warned it a moment ago
                        }
                        let revokes_at = stale::revokes_at(days, activity, now);
                        emit_token_event(
                            conn,
                            &subscriptions,
                            EventType::TokenExpiring,
                            row,
                            json!({
                                "reason": "unused",
                                "days": (revokes_at - now).div_euclid(stale::DAY),
                                "unused_days": days,
                                "revokes_at": timefmt::iso(revokes_at),
                            }),
                            now,
                        )
                        .await?;
                        warned.push(row.id);
                    }
                    Ok::<_, AppError>((rows.len() as i64, warned))
                })
            })
            .await?;
        done.warned.extend(warned.1);
        if warned.0 < BATCH {
            break;
        }
    }
    loop {
        let revoked = db
            .transaction(|conn| {
                Box::pin(async move {
                    // Turned off or changed since the run began: stop (the new policy warns
                    // first).
                    if super::settings::load(conn).await?.stale_token_days != Some(days) {
                        return Ok::<_, AppError>((0, Vec::new()));
                    }
                    let cutoff = stale::revoke_cutoff(days, now);
                    let ids = repo::due_for_revocation(
                        conn,
                        now,
                        cutoff,
                        stale::warned_cutoff(now),
                        BATCH,
                    )
                    .await?;
                    let revoked = repo::revoke(conn, &ids, now, cutoff, REVOKED_BY).await?;
                    for id in &revoked {
                        let Some(row) = crate::backend::repo::tokens::find(conn, *id).await? else {
                            continue;
                        };
                        audit::record_system(
                            conn,
                            action::TOKEN_REVOKE,
                            Target {
                                kind: "token",
                                id: Some(*id),
                                label: &row.display_prefix,
                            },
                            json!({
                                "name": row.name,
                                "reason": RevokeReason::Policy.as_str(),
                                "unused_days": days,
                            }),
                        )
                        .await?;
                    }
                    if !revoked.is_empty() {
                        crate::backend::repo::epoch::bump(conn).await?;
                    }
                    Ok::<_, AppError>((ids.len() as i64, revoked))
                })
            })
            .await?;
        let progress = !revoked.1.is_empty();
        done.revoked.extend(revoked.1);
        if revoked.0 < BATCH || !progress {
            break;
        }
    }
    Ok(done)
}
