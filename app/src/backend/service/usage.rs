//! The token page (usage history, client addresses, audit trail) and the expiry notice.

use super::now;
use super::tokens::{load, require_read, to_view};
use crate::backend::auth::Principal;
use crate::backend::repo::usage as repo;
use crate::backend::state::AppState;
use crate::domain::limits::{DAY_SECS, EXPIRY_WARNING_DAYS};
use crate::domain::usage::{chart_start, DailySeries};
use crate::domain::{policy, stale};
use crate::errors::AppError;
use crate::model::{ClientIpView, ExpiringToken, TokenDetail};

/// How many audit records the token page shows.
const AUDIT_TRAIL_LEN: i64 = 50;

/// One token with its usage: for whoever may see the token in a list (service-account tokens:
/// everyone signed in; personal tokens: their owner and Admins). The audit trail only for
/// those who may read the audit log, with a session.
pub async fn detail(state: &AppState, me: &Principal, id: i64) -> Result<TokenDetail, AppError> {
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let token = load(&mut conn, id).await?;
    require_read(me, &token)?;
    let now = now();
    let rows = repo::daily_counts(&mut conn, id, chart_start(now)).await?;
    let client_ips = repo::client_ips(&mut conn, id)
        .await?
        .into_iter()
        .map(|s| ClientIpView {
            ip: s.ip,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            user_agent: s.user_agent,
        })
        .collect();
    let audit = if me.require_session().is_ok() && policy::can_view_audit_log(me.role) {
        Some(
            repo::audit_trail(&mut conn, id, AUDIT_TRAIL_LEN)
                .await?
                .into_iter()
                .map(super::audit::to_view)
                .collect(),
        )
    } else {
        None
    };
    let stale_revokes_at = stale_revocation(&mut conn, &token.0, now).await?;
    Ok(TokenDetail {
        stale_revokes_at,
        token: to_view(token, now),
        usage: DailySeries::build(&rows, now),
        client_ips,
        audit,
    })
}

/// When the stale-token policy will revoke this live token: it is on, and the token was warned
/// about its present quiet spell.
async fn stale_revocation(
    conn: &mut crate::backend::db::Conn<'_>,
    row: &crate::backend::repo::tokens::TokenRow,
    now: i64,
) -> Result<Option<i64>, AppError> {
    let live = row.revoked_at.is_none() && row.expires_at.is_none_or(|at| at > now);
    let Some(days) = super::settings::load(conn)
        .await?
        .stale_token_days
        .filter(|_| live)
    else {
        return Ok(None);
    };
    let activity = stale::activity(row.created_at, row.last_used_at);
    Ok(crate::backend::repo::stale::warning(conn, row.id)
        .await?
        .filter(|(about, _)| *about == activity)
        .map(|(_, warned_at)| stale::revokes_at(days, activity, warned_at)))
}

/// The caller's own live personal tokens that expire within the warning period.
pub async fn expiring_soon(
    state: &AppState,
    me: &Principal,
) -> Result<Vec<ExpiringToken>, AppError> {
    let Some(user_id) = me.user_id() else {
        return Ok(Vec::new());
    };
    let now = now();
    let mut pooled = state.db.get().await?;
    Ok(repo::expiring_for_user(
        &mut pooled.conn(),
        user_id,
        now,
        now + EXPIRY_WARNING_DAYS * DAY_SECS,
    )
    .await?
    .into_iter()
    .map(|(id, name, expires_at)| ExpiringToken {
        id,
        name,
        expires_at,
    })
    .collect())
}
