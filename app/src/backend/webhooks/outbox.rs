//! Events into the outbox, in the transaction of the change that caused them. The audit
//! service calls `on_audit` beside every record it writes, so every audited change that is a
//! webhook event reaches the outbox and no call site can forget it; nothing is written when no
//! enabled endpoint subscribes.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use super::WAKE;
use crate::backend::audit_action as action;
use crate::backend::db::after_commit::after_commit;
use crate::backend::db::schema::{service_accounts, tokens};
use crate::backend::db::{dispatch, Conn};
use crate::backend::repo::tokens::TokenRow;
use crate::backend::repo::webhooks::{self as repo, NewOutbox};
use crate::domain::timefmt;
use crate::domain::webhook::EventType;

/// The webhook events an audit record stands for, written to the outbox for every enabled
/// endpoint subscribed to them. `target_id` and `details` are the audit record's (a revocation
/// names its reason there when it is not a person's click: the stale-token policy's).
pub async fn on_audit(
    conn: &mut Conn<'_>,
    audit_action: &str,
    target_id: Option<i64>,
    details: &Value,
    now: i64,
) -> QueryResult<()> {
    let revoke_reason = details["reason"].as_str().unwrap_or("manual");
    let revoked = [(EventType::TokenRevoked, Some(revoke_reason))];
    let token_events: &[(EventType, Option<&str>)] = match audit_action {
        action::TOKEN_CREATE => &[(EventType::TokenCreated, None)],
        action::TOKEN_ROTATE => &[(EventType::TokenRotated, None)],
        action::TOKEN_REVOKE => &revoked,
        action::TOKEN_LEAK_REPORT => &[
            (EventType::TokenLeakReported, None),
            (EventType::TokenRevoked, Some("leak_report")),
        ],
        // Bulk revokes write their events themselves (`tokens_revoked`): their audit record
        // lists at most 1,000 of up to 5,000 tokens.
        action::USER_REMOVE => &[],
        action::SA_DISABLE | action::SA_DELETE => &[],
        _ => return Ok(()),
    };
    let subscriptions = repo::enabled_subscriptions(conn).await?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let mut events: Vec<(EventType, Value)> = Vec::new();
    match audit_action {
        action::SA_DISABLE | action::SA_DELETE => {
            let Some(id) = target_id else { return Ok(()) };
            let deleted = audit_action == action::SA_DELETE;
            let name = account_name(conn, id).await?.unwrap_or_default();
            events.push((
                if deleted {
                    EventType::ServiceAccountDeleted
                } else {
                    EventType::ServiceAccountDisabled
                },
                json!({
                    "id": id,
                    "name": name,
                    "link": format!("/service-accounts/{id}"),
                }),
            ));
            if deleted {
                for row in owner_deleted_tokens(conn, id).await? {
                    events.push((
                        EventType::TokenRevoked,
                        token_data(&row, Some("owner_deleted")),
                    ));
                }
            }
        }
        action::USER_REMOVE => {
            let Some(id) = target_id else { return Ok(()) };
            for row in owner_removed_tokens(conn, id).await? {
                events.push((
                    EventType::TokenRevoked,
                    token_data(&row, Some("owner_removed")),
                ));
            }
        }
        _ => {
            let Some(id) = target_id else { return Ok(()) };
            if let Some(row) = find_tokens(conn, &[id]).await?.into_iter().next() {
                for (event, reason) in token_events {
                    events.push((*event, token_data(&row, *reason)));
                }
            }
        }
    }
    enqueue(conn, &subscriptions, &events, now).await
}

/// `token.revoked` for the tokens a bulk revoke revoked (the ids it actually changed, so a
/// token that was revoked already is not announced again).
pub async fn tokens_revoked(
    conn: &mut Conn<'_>,
    ids: &[i64],
    reason: &str,
    now: i64,
) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let subscriptions = repo::enabled_subscriptions(conn).await?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let mut events = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for row in find_tokens(conn, chunk).await? {
            events.push((EventType::TokenRevoked, token_data(&row, Some(reason))));
        }
    }
    enqueue(conn, &subscriptions, &events, now).await
}

/// One token event (`token_data` plus the fields of `extra`, an object) for every subscription
/// that wants it: for events no audit record stands for (the expiry scan).
pub(crate) async fn emit_token_event(
    conn: &mut Conn<'_>,
    subscriptions: &[(i64, String)],
    event: EventType,
    row: &TokenRow,
    extra: Value,
    now: i64,
) -> QueryResult<()> {
    let mut data = token_data(row, None);
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    enqueue(conn, subscriptions, &[(event, data)], now).await
}

/// Writes each event for every subscription that wants it (`webhook.test` goes only where the
/// caller sends it, see `enqueue_for`).
pub async fn enqueue(
    conn: &mut Conn<'_>,
    subscriptions: &[(i64, String)],
    events: &[(EventType, Value)],
    now: i64,
) -> QueryResult<()> {
    let mut rows = Vec::new();
    for (event, data) in events {
        let payload = payload(*event, data, now);
        for (endpoint_id, wanted) in subscriptions {
            if wanted.split(',').any(|w| w == event.as_str()) {
                rows.push(new_row(*endpoint_id, *event, &payload, now));
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    repo::insert_outbox(conn, &rows).await?;
    after_commit(|| WAKE.notify_waiters());
    Ok(())
}

/// One event for one endpoint, whatever it subscribes to (the test event).
pub async fn enqueue_for(
    conn: &mut Conn<'_>,
    endpoint_id: i64,
    event: EventType,
    data: &Value,
    now: i64,
) -> QueryResult<()> {
    let payload = payload(event, data, now);
    repo::insert_outbox(conn, &[new_row(endpoint_id, event, &payload, now)]).await?;
    after_commit(|| WAKE.notify_waiters());
    Ok(())
}

fn new_row(endpoint_id: i64, event: EventType, payload: &str, now: i64) -> NewOutbox {
    NewOutbox {
        endpoint_id,
        message_id: format!("msg_{}", crate::backend::crypto::random_base62(24)),
        event_type: event.as_str().to_string(),
        payload: payload.to_string(),
        created_at: now,
        next_attempt_at: Some(now),
    }
}

/// The body receivers get: `{type, timestamp, data}`. Links are stored as paths; the worker
/// puts the configured base URL in front when it sends.
pub fn payload(event: EventType, data: &Value, now: i64) -> String {
    json!({
        "type": event.as_str(),
        "timestamp": timefmt::iso(now),
        "data": data,
    })
    .to_string()
}

/// What receivers learn about a token: never its secret or hash.
pub fn token_data(row: &TokenRow, reason: Option<&str>) -> Value {
    let (owner_kind, owner_id, link) = match (row.service_account_id, row.user_id) {
        (Some(sa), _) => ("service_account", sa, format!("/service-accounts/{sa}")),
        (None, Some(u)) => ("user", u, format!("/tokens/{}", row.id)),
        (None, None) => ("unknown", 0, "/tokens".to_string()),
    };
    let mut data = json!({
        "id": row.id,
        "name": row.name,
        "display_prefix": row.display_prefix,
        "owner": { "kind": owner_kind, "id": owner_id, "name": row.owner_name },
        "expires_at": row.expires_at.map(timefmt::iso),
        "link": link,
    });
    if let Some(reason) = reason {
        data["reason"] = json!(reason);
    }
    data
}

async fn find_tokens(conn: &mut Conn<'_>, ids: &[i64]) -> QueryResult<Vec<TokenRow>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::id.eq_any(ids.to_vec()))
        .order(tokens::id)
        .select(TokenRow::as_select())
        .load(c)
        .await)
}

async fn owner_deleted_tokens(conn: &mut Conn<'_>, account: i64) -> QueryResult<Vec<TokenRow>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::service_account_id.eq(account))
        .filter(tokens::revoke_reason.eq("owner_deleted"))
        .order(tokens::id)
        .select(TokenRow::as_select())
        .load(c)
        .await)
}

/// A removed person's tokens, revoked in the removal's transaction (a removed person is never
/// removed again, so no earlier revocation is announced twice).
async fn owner_removed_tokens(conn: &mut Conn<'_>, user: i64) -> QueryResult<Vec<TokenRow>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::user_id.eq(user))
        .filter(tokens::revoke_reason.eq("owner_removed"))
        .order(tokens::id)
        .select(TokenRow::as_select())
        .load(c)
        .await)
}

async fn account_name(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<String>> {
    dispatch!(conn, |c| service_accounts::table
        .find(id)
        .select(service_accounts::name)
        .first(c)
        .await
        .optional())
}
