//! Second factors (issue 15): a person's authenticator app (TOTP) and recovery codes.
//!
//! Enrolment is two steps so that a secret nobody scanned never guards an account: "set up"
//! stores a sealed secret as pending and the account page shows it (QR code and text) until
//! the first code from the app confirms it. Confirming turns the app on and issues ten
//! recovery codes, shown once. Turning the app off or issuing new recovery codes asks for the
//! password again. Admins can reset someone's factors (audited) but never see them.

use serde_json::json;

use super::audit::{self, action, Target};
use super::login::reauthenticate;
use super::now;
use crate::backend::auth::Principal;
use crate::backend::db::Conn;
use crate::backend::repo::second_factors as repo;
use crate::backend::repo::users;
use crate::backend::state::AppState;
use crate::backend::totp;
use crate::domain::second_factor::{
    candidate_steps, format_recovery_code, group_secret, parse_app_code, SecondFactorCode,
    ENROLMENT_TTL_SECS, RECOVERY_CODE_COUNT,
};
use crate::domain::{policy, Sensitive};
use crate::errors::AppError;
use crate::model::{RecoveryCodes, SecondFactorOverview, TotpState};

fn my_id(me: &Principal) -> Result<i64, AppError> {
    me.require_session()?;
    me.user_id().ok_or_else(|| {
        AppError::forbidden("Only people signed in to the console have a second factor.")
    })
}

fn pending_is_live(row: &repo::TotpRow, now: i64) -> bool {
    row.confirmed_at.is_none() && row.created_at + ENROLMENT_TTL_SECS > now
}

/// The account page's view of the caller's own second factors. A pending enrolment carries
/// its secret: only its owner ever asks for it.
pub async fn overview(state: &AppState, me: &Principal) -> Result<SecondFactorOverview, AppError> {
    let uid = my_id(me)?;
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let row = repo::totp(&mut conn, uid).await?;
    let left = repo::recovery_codes_left(&mut conn, uid).await?;
    let now = now();
    let totp = match row {
        Some(row) if row.confirmed_at.is_some() => TotpState::On {
            since: row.confirmed_at.unwrap_or(row.created_at),
        },
        Some(row) if pending_is_live(&row, now) => {
            let secret = state
                .key
                .open_totp_secret(uid, &row.secret_sealed)
                .ok_or_else(|| {
                    crate::backend::error_map::internal("totp secret", &"cannot open")
                })?;
            let enrolment = totp::enrolment(&secret, &me.label);
            TotpState::Pending {
                account: me.label.clone(),
                secret: Sensitive::new(group_secret(&enrolment.secret_base32)),
                uri: Sensitive::new(enrolment.uri),
                qr_svg: Sensitive::new(enrolment.qr_svg),
                expires_at: row.created_at + ENROLMENT_TTL_SECS,
            }
        }
        _ => TotpState::Off,
    };
    Ok(SecondFactorOverview {
        totp,
        recovery_codes_left: left,
    })
}

/// Starts enrolment with a fresh secret (replacing an unfinished one).
pub async fn begin_totp(state: &AppState, me: &Principal) -> Result<(), AppError> {
    let uid = my_id(me)?;
    let sealed = state.key.seal_totp_secret(uid, &totp::new_secret());
    let now = now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if !repo::put_pending(conn, uid, &sealed, now).await? {
                    return Err(AppError::conflict(
                        "totp",
                        "Your authenticator app is already on. Turn it off first to set up another.",
                    ));
                }
                Ok(())
            })
        })
        .await
}

/// Abandons an unfinished enrolment.
pub async fn cancel_totp(state: &AppState, me: &Principal) -> Result<(), AppError> {
    let uid = my_id(me)?;
    let mut pooled = state.db.get_writer().await?;
    repo::delete_pending(&mut pooled.conn(), uid).await?;
    Ok(())
}

/// Finishes enrolment with the first code from the app; returns the recovery codes, shown once.
pub async fn confirm_totp(
    state: &AppState,
    me: &Principal,
    code: &str,
) -> Result<RecoveryCodes, AppError> {
    let uid = my_id(me)?;
    let code = parse_app_code(code)?;
    let now = now();
    let row = {
        let mut pooled = state.db.get().await?;
        repo::totp(&mut pooled.conn(), uid).await?
    };
    let row = match row {
        Some(row) if row.confirmed_at.is_some() => {
            return Err(AppError::conflict(
                "code",
                "Your authenticator app is already on.",
            ))
        }
        Some(row) if pending_is_live(&row, now) => row,
        _ => {
            return Err(AppError::invalid(
                "code",
                "This setup has expired. Start again to get a new QR code.",
            ))
        }
    };
    let secret = state
        .key
        .open_totp_secret(uid, &row.secret_sealed)
        .ok_or_else(|| crate::backend::error_map::internal("totp secret", &"cannot open"))?;
    let Some(step) = totp::matching_step(&secret, &code, &candidate_steps(now, None)) else {
        return Err(AppError::invalid(
            "code",
            "That code does not match. Check that your phone's clock is set automatically, then enter the code the app shows now.",
        ));
    };
    let (codes, hashes) = new_recovery_codes(state);
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if !repo::confirm(conn, uid, step, now).await? {
                    return Err(AppError::conflict(
                        "code",
                        "This setup was finished or cancelled in another window. Reload the page.",
                    ));
                }
                repo::replace_recovery_codes(conn, uid, &hashes, now).await?;
                audit_self(conn, &me, uid, action::TOTP_ENABLE).await
            })
        })
        .await?;
    Ok(codes)
}

/// Turns the app off (and drops the recovery codes, which only stand in for it). Asks for the
/// password: someone at an unlocked screen must not be able to remove the factor.
pub async fn disable_totp(
    state: &AppState,
    me: &Principal,
    password: Sensitive,
) -> Result<(), AppError> {
    let uid = my_id(me)?;
    reauthenticate(state, me, password).await?;
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if !repo::delete_totp(conn, uid).await? {
                    return Err(AppError::conflict(
                        "password",
                        "Your authenticator app is already off.",
                    ));
                }
                repo::delete_recovery_codes(conn, uid).await?;
                audit_self(conn, &me, uid, action::TOTP_DISABLE).await
            })
        })
        .await
}

/// Replaces the recovery codes with ten new ones (the old ones stop working), after the
/// password.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    me: &Principal,
    password: Sensitive,
) -> Result<RecoveryCodes, AppError> {
    let uid = my_id(me)?;
    reauthenticate(state, me, password).await?;
    let (codes, hashes) = new_recovery_codes(state);
    let now = now();
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let on = repo::totp(conn, uid)
                    .await?
                    .is_some_and(|r| r.confirmed_at.is_some());
                if !on {
                    return Err(AppError::conflict(
                        "password",
                        "Recovery codes come with an authenticator app. Set one up first.",
                    ));
                }
                repo::replace_recovery_codes(conn, uid, &hashes, now).await?;
                audit_self(conn, &me, uid, action::RECOVERY_CODES_NEW).await
            })
        })
        .await?;
    Ok(codes)
}

/// An Admin removes someone's second factors (a lost phone and lost codes). They sign in with
/// their password alone until they set up a new app. The Admin never sees any factor.
pub async fn reset_for(state: &AppState, me: &Principal, user_id: i64) -> Result<(), AppError> {
    me.require_session()?;
    me.require(
        policy::can_manage_team(me.role),
        "Only Admins can reset someone's second factor.",
    )?;
    // One's own goes through the account page, which asks for the password again.
    me.require(
        me.user_id() != Some(user_id),
        "Turn off your own two-step sign-in on your account page.",
    )?;
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let user = users::find(conn, user_id)
                    .await?
                    .filter(|u| u.removed_at.is_none())
                    .ok_or_else(|| AppError::not_found("The team member"))?;
                let had_app = repo::delete_totp(conn, user_id).await?;
                let codes = repo::delete_recovery_codes(conn, user_id).await?;
                if !had_app && codes == 0 {
                    return Err(AppError::conflict(
                        "id",
                        format!("{} has no second factor to reset.", user.email),
                    ));
                }
                audit::record(
                    conn,
                    &me,
                    action::SECOND_FACTOR_RESET,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({ "recovery_codes_removed": codes }),
                )
                .await
            })
        })
        .await
}

/// `reset_for` by e-mail address (the command line's way in).
pub async fn reset_by_email(state: &AppState, me: &Principal, email: &str) -> Result<(), AppError> {
    let email = email.trim().to_lowercase();
    let user = {
        let mut pooled = state.db.get().await?;
        users::find_live_by_email(&mut pooled.conn(), &email).await?
    }
    .ok_or_else(|| AppError::not_found("The team member"))?;
    reset_for(state, me, user.id).await
}

/// Whether signing in as this person needs a second factor.
pub async fn required_at_sign_in(conn: &mut Conn<'_>, user_id: i64) -> Result<bool, AppError> {
    Ok(repo::totp(conn, user_id)
        .await?
        .is_some_and(|r| r.confirmed_at.is_some()))
}

/// Checks and uses up a second-factor code. False for a wrong code, a code whose step was
/// already used, or a used recovery code; each use is one conditional update, so of two
/// requests with the same code at most one succeeds, whichever process serves them.
pub async fn use_code(
    state: &AppState,
    user_id: i64,
    code: &SecondFactorCode,
) -> Result<bool, AppError> {
    let now = now();
    let mut pooled = state.db.get_writer().await?;
    let mut conn = pooled.conn();
    match code {
        SecondFactorCode::Totp(code) => {
            let Some(row) = repo::totp(&mut conn, user_id)
                .await?
                .filter(|r| r.confirmed_at.is_some())
            else {
                return Ok(false);
            };
            let Some(secret) = state.key.open_totp_secret(user_id, &row.secret_sealed) else {
                return Err(crate::backend::error_map::internal(
                    "totp secret",
                    &"cannot open",
                ));
            };
            match totp::matching_step(&secret, code, &candidate_steps(now, row.last_step)) {
                Some(step) => Ok(repo::accept_step(&mut conn, user_id, step).await?),
                None => Ok(false),
            }
        }
        SecondFactorCode::Recovery(code) => {
            let hash = state.key.recovery_code_hash(code);
            Ok(repo::use_recovery_code(&mut conn, user_id, &hash, now).await?)
        }
    }
}

/// Recovery codes left after a sign-in with one (for the audit record and the warning).
pub async fn recovery_codes_left(state: &AppState, user_id: i64) -> Result<i64, AppError> {
    let mut pooled = state.db.get().await?;
    Ok(repo::recovery_codes_left(&mut pooled.conn(), user_id).await?)
}

fn new_recovery_codes(state: &AppState) -> (RecoveryCodes, Vec<Vec<u8>>) {
    let (codes, hashes) = (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let (code, hash) = state.key.new_recovery_code();
            (Sensitive::new(format_recovery_code(code.expose())), hash)
        })
        .unzip();
    (RecoveryCodes { codes }, hashes)
}

async fn audit_self(
    conn: &mut Conn<'_>,
    me: &Principal,
    uid: i64,
    what: &str,
) -> Result<(), AppError> {
    audit::record(
        conn,
        me,
        what,
        Target {
            kind: "user",
            id: Some(uid),
            label: &me.label,
        },
        json!({}),
    )
    .await
}
