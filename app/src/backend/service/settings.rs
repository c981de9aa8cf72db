//! Organisation settings (Admins): maximum token lifetime, default per-token rate limit (the
//! stale-token policy has its own service, `stale_policy`).

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use crate::backend::db::Conn;
use crate::backend::principal::Principal;
use crate::backend::repo::settings as repo;
use crate::backend::state::AppState;
use crate::domain::expiry::parse_max_lifetime;
use crate::domain::limits::DEFAULT_RATE_LIMIT_PER_MINUTE;
use crate::domain::{policy, FieldError};
use crate::errors::AppError;
use crate::model::OrgSettings;

pub async fn load(conn: &mut Conn<'_>) -> Result<OrgSettings, AppError> {
    let max = repo::get(conn, repo::MAX_TOKEN_LIFETIME_DAYS)
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    let rate = repo::get(conn, repo::DEFAULT_RATE_LIMIT)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
    let stale = repo::get(conn, repo::STALE_TOKEN_DAYS)
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    Ok(OrgSettings {
        max_token_lifetime_days: max,
        default_rate_limit_per_minute: rate,
        stale_token_days: stale,
    })
}

pub async fn get(state: &AppState) -> Result<OrgSettings, AppError> {
    let mut pooled = state.db.get().await?;
    load(&mut pooled.conn()).await
}

pub fn parse_rate_limit(field: &'static str, text: &str) -> Result<Option<i64>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if (1..=100_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(FieldError::new(
            field,
            "Enter a whole number of requests per minute between 1 and 100000000.",
        )),
    }
}

pub async fn update(
    state: &AppState,
    me: &Principal,
    max_token_lifetime_days: &str,
    default_rate_limit_per_minute: &str,
) -> Result<OrgSettings, AppError> {
    me.require_session()?;
    me.require(
        policy::can_manage_settings(me.role),
        "Only Admins can change settings.",
    )?;
    let max = parse_max_lifetime(max_token_lifetime_days)?;
    let rate = parse_rate_limit(
        "default_rate_limit_per_minute",
        default_rate_limit_per_minute,
    )?
    .unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let before = load(conn).await?;
                match max {
                    Some(days) => repo::set(conn, repo::MAX_TOKEN_LIFETIME_DAYS, &days.to_string(), now).await?,
                    None => repo::delete(conn, repo::MAX_TOKEN_LIFETIME_DAYS).await?,
                };
                repo::set(conn, repo::DEFAULT_RATE_LIMIT, &rate.to_string(), now).await?;
                crate::backend::repo::epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::SETTINGS_UPDATE,
                    Target { kind: "settings", id: None, label: "organisation settings" },
                    json!({
                        "max_token_lifetime_days": { "from": before.max_token_lifetime_days, "to": max },
                        "default_rate_limit_per_minute": { "from": before.default_rate_limit_per_minute, "to": rate },
                    }),
                )
                .await?;
                load(conn).await
            })
        })
        .await
}
