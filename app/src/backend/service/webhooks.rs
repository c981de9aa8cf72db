//! Webhook endpoints: Admins create, list, enable/disable and delete them, send a test event
//! and redeliver a failed one. Creating checks the URL's shape and where its host resolves
//! (the SSRF rules); every delivery checks again.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use crate::backend::auth::Principal;
use crate::backend::crypto::new_webhook_secret;
use crate::backend::repo::webhooks::{self as repo, DeliveryRow, EndpointRow, NewEndpoint};
use crate::backend::state::AppState;
use crate::backend::webhooks::{guard, outbox};
use crate::domain::names::validate_description;
use crate::domain::webhook::{format_events, parse_events, url_label, validate_url, EventType};
use crate::domain::Role;
use crate::errors::AppError;
use crate::model::{EventState, WebhookCreated, WebhookDeliveryView, WebhookEndpointView};

fn require_admin(me: &Principal) -> Result<(), AppError> {
    me.require(me.role == Role::Admin, "Only Admins can manage webhooks.")
}

fn not_found() -> AppError {
    AppError::not_found("This webhook endpoint")
}

pub fn to_view(r: EndpointRow) -> WebhookEndpointView {
    WebhookEndpointView {
        id: r.id,
        url: r.url,
        description: r.description,
        events: r.events.split(',').map(str::to_string).collect(),
        secret_hint: r.secret_hint,
        enabled: r.enabled,
        created_at: r.created_at,
        created_by: r.created_by_label,
        failing_since: r.failing_since,
    }
}

fn delivery_view(r: DeliveryRow, event_state: EventState) -> WebhookDeliveryView {
    WebhookDeliveryView {
        event_state,
        id: r.id,
        outbox_id: r.outbox_id,
        at: r.at,
        event_type: r.event_type,
        attempt: r.attempt,
        status_code: r.status_code,
        error: r.error,
        latency_ms: r.latency_ms,
        next_retry_at: r.next_retry_at,
    }
}

/// Checks the URL and where it points, as a delivery would.
pub async fn check_target(state: &AppState, url: &str) -> Result<String, AppError> {
    let allow = state.config.webhook_allow_private;
    let parsed = validate_url(url, allow)?;
    guard::resolve(&parsed, allow).await.map_err(|e| {
        AppError::invalid("url", format!("Keyward will not send to this URL: {e}."))
    })?;
    Ok(url.trim().to_string())
}

pub async fn create(
    state: &AppState,
    me: &Principal,
    url: &str,
    events: &str,
    description: &str,
) -> Result<WebhookCreated, AppError> {
    me.require_session()?;
    require_admin(me)?;
    let description = validate_description(description)?;
    let events = format_events(&parse_events(events)?);
    let url = check_target(state, url).await?;
    let secret = new_webhook_secret();
    let sealed = state.key.seal_webhook_secret(&secret);
    // A fingerprint, not a piece of the key: enough to tell which secret a receiver holds
    // (it can compute the same), and nothing of the secret in the database in plain text.
    let hint = format!(
        "sha256:{}",
        &crate::backend::crypto::sha256_hex(secret.expose().as_bytes())[..12]
    );
    let me = me.clone();
    let now = now();
    let row = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let row = repo::insert_endpoint(
                    conn,
                    &NewEndpoint {
                        url: &url,
                        description: &description,
                        events: &events,
                        secret_sealed: &sealed,
                        secret_hint: &hint,
                        enabled: true,
                        created_at: now,
                        created_by_label: &me.label,
                    },
                )
                .await?;
                audit::record(
                    conn,
                    &me,
                    action::WEBHOOK_CREATE,
                    Target {
                        kind: "webhook",
                        id: Some(row.id),
                        label: &url_label(&row.url),
                    },
                    json!({ "events": row.events }),
                )
                .await?;
                Ok::<_, AppError>(row)
            })
        })
        .await?;
    Ok(WebhookCreated {
        endpoint: to_view(row),
        secret,
    })
}

pub async fn list(state: &AppState, me: &Principal) -> Result<Vec<WebhookEndpointView>, AppError> {
    require_admin(me)?;
    let mut pooled = state.db.get().await?;
    let rows = repo::list_endpoints(&mut pooled.conn()).await?;
    Ok(rows.into_iter().map(to_view).collect())
}

pub async fn set_enabled(
    state: &AppState,
    me: &Principal,
    id: i64,
    enabled: bool,
) -> Result<WebhookEndpointView, AppError> {
    me.require_session()?;
    require_admin(me)?;
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_endpoint(conn, id).await?.ok_or_else(not_found)?;
                if row.enabled != enabled {
                    repo::set_enabled(conn, id, enabled).await?;
                    audit::record(
                        conn,
                        &me,
                        action::WEBHOOK_UPDATE,
                        Target {
                            kind: "webhook",
                            id: Some(id),
                            label: &url_label(&row.url),
                        },
                        json!({ "enabled": enabled }),
                    )
                    .await?;
                }
                let row = repo::find_endpoint(conn, id).await?.ok_or_else(not_found)?;
                Ok::<_, AppError>(to_view(row))
            })
        })
        .await
}

pub async fn delete(state: &AppState, me: &Principal, id: i64) -> Result<(), AppError> {
    me.require_session()?;
    require_admin(me)?;
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_endpoint(conn, id).await?.ok_or_else(not_found)?;
                repo::delete_endpoint(conn, id).await?;
                audit::record(
                    conn,
                    &me,
                    action::WEBHOOK_DELETE,
                    Target {
                        kind: "webhook",
                        id: Some(id),
                        label: &url_label(&row.url),
                    },
                    json!({}),
                )
                .await?;
                Ok::<_, AppError>(())
            })
        })
        .await
}

/// Queues a `webhook.test` event for the endpoint (sent even if it does not subscribe to it).
pub async fn send_test(state: &AppState, me: &Principal, id: i64) -> Result<(), AppError> {
    me.require_session()?;
    require_admin(me)?;
    let label = me.label.clone();
    let now = now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let endpoint = repo::find_endpoint(conn, id).await?.ok_or_else(not_found)?;
                // Disabled endpoints get nothing (see `repo::claim_due`): say so instead of
                // queueing an event that would wait.
                if !endpoint.enabled {
                    return Err(AppError::limit(
                        "This endpoint is disabled: enable it to send a test event.",
                    ));
                }
                outbox::enqueue_for(
                    conn,
                    id,
                    EventType::WebhookTest,
                    &json!({ "endpoint_id": id, "sent_by": label, "link": "/settings/webhooks" }),
                    now,
                )
                .await?;
                Ok::<_, AppError>(())
            })
        })
        .await
}

pub async fn deliveries(
    state: &AppState,
    me: &Principal,
    endpoint_id: i64,
) -> Result<Vec<WebhookDeliveryView>, AppError> {
    require_admin(me)?;
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let rows = repo::list_deliveries(&mut conn, endpoint_id, 100).await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.outbox_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let states: std::collections::HashMap<i64, EventState> = repo::outbox_states(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|(id, delivered, gave_up)| {
            let state = match (delivered, gave_up) {
                (Some(_), _) => EventState::Delivered,
                (None, Some(_)) => EventState::GaveUp,
                (None, None) => EventState::Retrying,
            };
            (id, state)
        })
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            // Events are pruned with their log, so a logged event is normally there.
            let state = states
                .get(&r.outbox_id)
                .copied()
                .unwrap_or(EventState::GaveUp);
            delivery_view(r, state)
        })
        .collect())
}

/// Sends a failed event again, now, with a fresh day of retries (same `webhook-id`).
pub async fn redeliver(state: &AppState, me: &Principal, outbox_id: i64) -> Result<(), AppError> {
    me.require_session()?;
    require_admin(me)?;
    let now = now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_outbox(conn, outbox_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("This event"))?;
                if row.delivered_at.is_some() {
                    return Err(AppError::limit("This event was delivered."));
                }
                let endpoint = repo::find_endpoint(conn, row.endpoint_id)
                    .await?
                    .ok_or_else(not_found)?;
                if !endpoint.enabled {
                    return Err(AppError::limit(
                        "This endpoint is disabled: enable it before redelivering.",
                    ));
                }
                // An attempt in flight would overwrite the reset when it finishes.
                if repo::redeliver(conn, outbox_id, now).await? == 0 {
                    return Err(AppError::limit(
                        "This event is being sent right now. Try again in a minute.",
                    ));
                }
                Ok::<_, AppError>(())
            })
        })
        .await?;
    crate::backend::webhooks::WAKE.notify_waiters();
    Ok(())
}
