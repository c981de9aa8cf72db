//! Signing in and out, the first-admin setup code, and set-password links.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use super::second_factor;
use crate::backend::auth::{Principal, RequestInfo};
use crate::backend::crypto;
use crate::backend::hashing::HashError;
use crate::backend::repo::users::{NewUser, UserRow};
use crate::backend::repo::{codes, login_failures, users};
use crate::backend::state::AppState;
use crate::domain::limits::{
    LOGIN_ACCOUNT_WINDOW_SECS, LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS,
    LOGIN_WINDOW_SECS, SETUP_CODE_TTL_SECS,
};
use crate::domain::names::{normalize_email, validate_display_name, validate_new_password};
use crate::domain::second_factor::SecondFactorCode;
use crate::domain::throttle;
use crate::domain::{Role, Sensitive};
use crate::errors::AppError;

pub const BAD_CREDENTIALS: &str = "The e-mail address or password is incorrect.";
const BAD_CODE: &str =
    "That code is not right, or was already used. Enter the code your app shows now, or a recovery code.";
const SIGN_IN_EXPIRED: &str = "This sign-in has expired. Sign in again with your password.";

/// What a correct password leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: start the session.
    Complete(UserRow),
    /// The person has a second factor: ask for it before starting the session.
    NeedsSecondFactor(UserRow),
}

/// Hashes a new password under the hashing gate (a burst of set-password or setup requests
/// must not take every core any more than a burst of sign-ins may).
pub(crate) async fn hash_password(
    state: &AppState,
    password: Sensitive,
) -> Result<String, AppError> {
    state
        .hashing
        .run(move || crypto::hash_password_blocking(password))
        .await
        .map_err(|e| match e {
            HashError::Busy => AppError::Unavailable,
            HashError::Failed => crate::backend::error_map::internal("password hash", &e),
        })?
        .map_err(|e| crate::backend::error_map::internal("password hash", &e))
}

/// Checks the password and the throttle. On success returns the user (the caller starts the
/// session). Unknown e-mail and wrong password take the same path, the same time, and get the
/// same message. Attempts are counted per client address (`request.ip`; requests without
/// one share the address "unknown").
pub async fn login(
    state: &AppState,
    email: &str,
    password: Sensitive,
    request: &RequestInfo,
) -> Result<SignIn, AppError> {
    let result = check_login(state, email, password, request).await;
    let outcome = match &result {
        Ok(SignIn::Complete(_)) => "ok",
        Ok(SignIn::NeedsSecondFactor(_)) => "second_factor",
        Err(e) => failure_outcome(e),
    };
    metrics::counter!("keyward_logins_total", "outcome" => outcome).increment(1);
    result
}

/// The metrics label of a failed sign-in step (password or second factor).
fn failure_outcome(error: &AppError) -> &'static str {
    match error {
        AppError::Throttled { .. } => "throttled",
        AppError::Unavailable => "busy",
        AppError::Invalid { .. } => "invalid",
        AppError::Forbidden { .. } => "deactivated",
        _ => "error",
    }
}

async fn check_login(
    state: &AppState,
    email: &str,
    password: Sensitive,
    request: &RequestInfo,
) -> Result<SignIn, AppError> {
    let ip = request.ip.as_deref().unwrap_or("unknown");
    let email_key = email.trim().to_lowercase();
    if email_key.is_empty() {
        return Err(AppError::invalid("email", "Enter your e-mail address."));
    }
    if email_key.chars().any(char::is_control)
        || email_key.chars().count() > crate::domain::limits::EMAIL_MAX_CHARS
    {
        return Err(AppError::invalid(
            "email",
            "Enter an e-mail address like name@example.com.",
        ));
    }
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    let now = now();
    let addr = throttle::address_key(ip);
    // The attempt is reserved (recorded as a failure) in the same transaction that checks the
    // throttle, before any password is looked at: concurrent attempts cannot all pass a
    // check that each of them made before the others were recorded. It runs as a task of its
    // own so that a client going away cannot drop it half-way and leave a transaction open
    // with the locks held.
    let reservation = tokio::spawn(reserve(state.clone(), email_key.clone(), addr.clone(), now))
        .await
        .map_err(|e| crate::backend::error_map::internal("sign-in reservation", &e))??;
    let user = {
        let mut pooled = state.db.get().await?;
        users::find_live_by_email(&mut pooled.conn(), &email_key).await?
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = match state
        .hashing
        .run(move || crypto::verify_password_blocking(password, stored))
        .await
    {
        Ok(ok) => ok,
        // The check ran and broke: the reservation stays, an attempt is an attempt.
        Err(e @ HashError::Failed) => {
            return Err(crate::backend::error_map::internal("password check", &e));
        }
        Err(HashError::Busy) => {
            // Not an attempt: nothing was checked. Give the reservation back.
            let mut pooled = state.db.get_writer().await?;
            login_failures::delete(&mut pooled.conn(), reservation).await?;
            return Err(AppError::Unavailable);
        }
    };
    match user {
        Some(user) if password_ok => {
            if user.deactivated_at.is_some() {
                let mut pooled = state.db.get_writer().await?;
                login_failures::delete(&mut pooled.conn(), reservation).await?;
                return Err(AppError::forbidden(
                    "This account has been deactivated. Ask an Admin to reactivate it.",
                ));
            }
            let needs_second_factor = {
                let mut pooled = state.db.get_writer().await?;
                let mut conn = pooled.conn();
                let needed = second_factor::required_at_sign_in(&mut conn, user.id).await?;
                if needed {
                    // The password was right, so it is not a failure; the failures so far
                    // stay until the second factor is right too.
                    login_failures::delete(&mut conn, reservation).await?;
                }
                needed
            };
            if needs_second_factor {
                return Ok(SignIn::NeedsSecondFactor(user));
            }
            complete(state, user, email_key, addr, request, json!({}))
                .await
                .map(SignIn::Complete)
        }
        _ => {
            // The reservation stays: it is this failure.
            let email_label = email_key;
            let request = request.clone();
            state
                .db
                .transaction(|conn| {
                    Box::pin(async move {
                        audit::record_anonymous(
                            conn,
                            &email_label,
                            &request,
                            action::LOGIN_FAILED,
                            Target {
                                kind: "user",
                                id: None,
                                label: &email_label,
                            },
                            json!({}),
                        )
                        .await?;
                        Ok::<_, AppError>(())
                    })
                })
                .await?;
            Err(AppError::Invalid {
                field: None,
                message: BAD_CREDENTIALS.into(),
            })
        }
    }
}

/// Checks the throttle and records the attempt as a failure, in one transaction; returns the
/// record's id.
async fn reserve(
    state: AppState,
    email_key: String,
    addr: String,
    now: i64,
) -> Result<i64, AppError> {
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                login_failures::lock(conn, &email_key, &addr).await?;
                let since = now - LOGIN_WINDOW_SECS;
                let failures = throttle::Failures {
                    pair: login_failures::recent_for_pair(
                        conn,
                        &email_key,
                        &addr,
                        since,
                        LOGIN_MAX_FAILURES,
                    )
                    .await?,
                    address: login_failures::recent_for_ip(
                        conn,
                        &addr,
                        since,
                        LOGIN_MAX_FAILURES_PER_ADDRESS,
                    )
                    .await?,
                    account_count: login_failures::account_count(
                        conn,
                        &email_key,
                        now - LOGIN_ACCOUNT_WINDOW_SECS,
                    )
                    .await?,
                };
                throttle::check(&failures, now)
                    .map_err(|retry_after_secs| AppError::Throttled { retry_after_secs })?;
                Ok::<_, AppError>(login_failures::insert(conn, &email_key, &addr, now).await?)
            })
        })
        .await
}

/// The end of a successful sign-in: the failures of this e-mail and address are forgotten,
/// the sign-in time kept, and the sign-in audited (with `details`, e.g. the second factor).
async fn complete(
    state: &AppState,
    user: UserRow,
    email_key: String,
    addr: String,
    request: &RequestInfo,
    details: serde_json::Value,
) -> Result<UserRow, AppError> {
    let principal = principal_for(&user, request);
    let now = now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                login_failures::clear_pair(conn, &email_key, &addr).await?;
                users::touch_last_login(conn, user.id, now).await?;
                audit::record(
                    conn,
                    &principal,
                    action::LOGIN,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    details,
                )
                .await?;
                Ok::<_, AppError>(user)
            })
        })
        .await
}

/// The second step of a sign-in: the code from the authenticator app, or a recovery code, of
/// the person whose password was right a moment ago (`user_id`, with their session epoch
/// then: a password reset or deactivation in between ends the attempt). Attempts count
/// against the same throttle as passwords.
pub async fn second_factor(
    state: &AppState,
    user_id: i64,
    epoch: i64,
    code: &str,
    request: &RequestInfo,
) -> Result<UserRow, AppError> {
    let result = check_second_factor(state, user_id, epoch, code, request).await;
    let outcome = result.as_ref().map_or_else(failure_outcome, |_| "ok");
    metrics::counter!("keyward_second_factor_total", "outcome" => outcome).increment(1);
    result
}

async fn check_second_factor(
    state: &AppState,
    user_id: i64,
    epoch: i64,
    code: &str,
    request: &RequestInfo,
) -> Result<UserRow, AppError> {
    let code = crate::domain::second_factor::parse_code(code)?;
    let user = {
        let mut pooled = state.db.get().await?;
        users::find(&mut pooled.conn(), user_id).await?
    }
    .filter(|u| u.removed_at.is_none() && u.deactivated_at.is_none() && u.session_epoch == epoch)
    .ok_or_else(|| AppError::Invalid {
        field: None,
        message: SIGN_IN_EXPIRED.into(),
    })?;
    let ip = request.ip.as_deref().unwrap_or("unknown");
    let email_key = user.email.to_lowercase();
    let addr = throttle::address_key(ip);
    let reservation = tokio::spawn(reserve(
        state.clone(),
        email_key.clone(),
        addr.clone(),
        now(),
    ))
    .await
    .map_err(|e| crate::backend::error_map::internal("sign-in reservation", &e))??;
    if second_factor::use_code(state, user.id, &code).await? {
        let mut details = json!({ "second_factor": code.method() });
        if matches!(code, SecondFactorCode::Recovery(_)) {
            details["recovery_codes_left"] =
                json!(second_factor::recovery_codes_left(state, user.id).await?);
        }
        {
            let mut pooled = state.db.get_writer().await?;
            login_failures::delete(&mut pooled.conn(), reservation).await?;
        }
        return complete(state, user, email_key, addr, request, details).await;
    }
    // The reservation stays: it is this failure.
    let request = request.clone();
    let method = code.method();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                audit::record_anonymous(
                    conn,
                    &email_key,
                    &request,
                    action::LOGIN_FAILED,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &email_key,
                    },
                    json!({ "second_factor": method }),
                )
                .await
            })
        })
        .await?;
    Err(AppError::invalid("code", BAD_CODE))
}

/// Asks a signed-in person for their password again before a change that removes a
/// protection (turning off the second factor, new recovery codes). Wrong answers count against
/// the sign-in throttle, so this is no way around it.
pub async fn reauthenticate(
    state: &AppState,
    me: &Principal,
    password: Sensitive,
) -> Result<(), AppError> {
    let Some(uid) = me.user_id() else {
        return Err(AppError::forbidden(
            "Only people can confirm with a password.",
        ));
    };
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    let user = {
        let mut pooled = state.db.get().await?;
        users::find(&mut pooled.conn(), uid).await?
    }
    .ok_or_else(|| AppError::forbidden("Your account no longer exists."))?;
    let email_key = user.email.to_lowercase();
    let addr = throttle::address_key(me.request.ip.as_deref().unwrap_or("unknown"));
    let reservation = tokio::spawn(reserve(state.clone(), email_key.clone(), addr, now()))
        .await
        .map_err(|e| crate::backend::error_map::internal("sign-in reservation", &e))??;
    let stored = user.password_hash.clone();
    let ok = match state
        .hashing
        .run(move || crypto::verify_password_blocking(password, stored))
        .await
    {
        Ok(ok) => ok,
        Err(e @ HashError::Failed) => {
            return Err(crate::backend::error_map::internal("password check", &e))
        }
        Err(HashError::Busy) => {
            let mut pooled = state.db.get_writer().await?;
            login_failures::delete(&mut pooled.conn(), reservation).await?;
            return Err(AppError::Unavailable);
        }
    };
    if ok {
        let mut pooled = state.db.get_writer().await?;
        login_failures::delete(&mut pooled.conn(), reservation).await?;
        Ok(())
    } else {
        Err(AppError::invalid("password", "That password is not right."))
    }
}

/// Clears an account's sign-in failures (`keyward user unlock`), audited. Returns how many
/// were cleared.
pub async fn unlock(state: &AppState, me: &Principal, email: &str) -> Result<usize, AppError> {
    let email_key = email.trim().to_lowercase();
    if email_key.is_empty() {
        return Err(AppError::invalid("email", "Enter the e-mail address."));
    }
    let me = me.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let user = users::find_live_by_email(conn, &email_key).await?;
                let cleared = login_failures::clear_email(conn, &email_key).await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_UNLOCK,
                    Target {
                        kind: "user",
                        id: user.as_ref().map(|u| u.id),
                        label: &email_key,
                    },
                    json!({ "failures_cleared": cleared }),
                )
                .await?;
                Ok::<_, AppError>(cleared)
            })
        })
        .await
}

pub fn principal_for(user: &UserRow, request: &RequestInfo) -> Principal {
    Principal {
        subject: crate::backend::auth::Subject::User {
            id: user.id,
            email: user.email.clone(),
        },
        role: Role::parse(&user.role).unwrap_or(Role::Viewer),
        via: crate::backend::auth::Via::Session,
        request: request.clone(),
        label: user.email.clone(),
    }
}

pub async fn record_logout(state: &AppState, who: &Principal) -> Result<(), AppError> {
    let who = who.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                audit::record(
                    conn,
                    &who,
                    action::LOGOUT,
                    Target {
                        kind: "user",
                        id: who.user_id(),
                        label: &who.label,
                    },
                    json!({}),
                )
                .await
            })
        })
        .await
}

/// Whether the first admin still has to be created.
pub async fn needs_setup(state: &AppState) -> Result<bool, AppError> {
    let mut pooled = state.db.get().await?;
    Ok(users::count_all(&mut pooled.conn()).await? == 0)
}

/// At start-up with no users: a fresh one-time setup code, valid for a day. Each process that
/// starts before setup prints its own; using any of them ends all of them.
pub async fn issue_setup_code(state: &AppState) -> Result<Option<Sensitive>, AppError> {
    if !needs_setup(state).await? {
        return Ok(None);
    }
    let (code, hash) = state.key.new_code();
    let now = now();
    let mut pooled = state.db.get_writer().await?;
    codes::insert(
        &mut pooled.conn(),
        codes::BOOTSTRAP,
        &hash,
        None,
        now,
        now + SETUP_CODE_TTL_SECS,
    )
    .await?;
    Ok(Some(code))
}

pub async fn setup_code_valid(state: &AppState, code: &str) -> Result<bool, AppError> {
    if code.is_empty() || code.len() > 128 {
        return Ok(false);
    }
    let hash = state.key.keyed_hash(code.as_bytes());
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    Ok(users::count_all(&mut conn).await? == 0
        && codes::find_valid(&mut conn, codes::BOOTSTRAP, &hash, now())
            .await?
            .is_some())
}

/// Creates the first Admin with the setup code; the code (and every other setup code) dies.
pub async fn complete_setup(
    state: &AppState,
    code: &str,
    email: &str,
    display_name: &str,
    password: Sensitive,
    password_confirm: Sensitive,
    request: &RequestInfo,
) -> Result<UserRow, AppError> {
    let email = normalize_email(email)?;
    let display_name = validate_display_name(display_name)?;
    validate_new_password(password.expose(), password_confirm.expose())?;
    if !setup_code_valid(state, code).await? {
        return Err(setup_code_dead(state).await);
    }
    let hash = hash_password(state, password).await?;
    let code_hash = state.key.keyed_hash(code.as_bytes());
    let now = now();
    let request = request.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                // Re-checked inside the transaction: two setup forms submitted at once create
                // exactly one admin.
                if users::count_all(conn).await? > 0 {
                    return Err(AppError::conflict("code", "Setup is already complete. Sign in instead."));
                }
                let Some(row) = codes::find_valid(conn, codes::BOOTSTRAP, &code_hash, now).await? else {
                    return Err(AppError::invalid("code", "This setup link has expired or was already used. Restart Keyward to print a new one."));
                };
                if !codes::consume(conn, row.id, now).await? {
                    return Err(AppError::conflict("code", "This setup link was just used. Sign in instead."));
                }
                codes::invalidate(conn, codes::BOOTSTRAP, None, now).await?;
                let user = users::insert(
                    conn,
                    &NewUser {
                        email: &email,
                        display_name: &display_name,
                        password_hash: Some(&hash),
                        role: Role::Admin.as_str(),
                        created_at: now,
                        created_by: None,
                        updated_at: now,
                    },
                )
                .await?;
                // Setup signs the new admin in: that is their first sign-in.
                users::touch_last_login(conn, user.id, now).await?;
                let actor = principal_for(&user, &request);
                audit::record(
                    conn,
                    &actor,
                    action::SETUP,
                    Target { kind: "user", id: Some(user.id), label: &user.email },
                    json!({ "role": "admin" }),
                )
                .await?;
                Ok(user)
            })
        })
        .await
}

async fn setup_code_dead(state: &AppState) -> AppError {
    match needs_setup(state).await {
        Ok(false) => AppError::conflict("code", "Setup is already complete. Sign in instead."),
        Ok(true) => AppError::invalid(
            "code",
            "This setup link has expired or was already used. Restart Keyward to print a new one.",
        ),
        Err(e) => e,
    }
}

/// Whose set-password link this is (for the page greeting), if it is still valid.
pub async fn password_link_user(state: &AppState, code: &str) -> Result<Option<UserRow>, AppError> {
    if code.is_empty() || code.len() > 128 {
        return Ok(None);
    }
    let hash = state.key.keyed_hash(code.as_bytes());
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let Some(row) = codes::find_valid(&mut conn, codes::SET_PASSWORD, &hash, now()).await? else {
        return Ok(None);
    };
    let Some(uid) = row.user_id else {
        return Ok(None);
    };
    Ok(users::find(&mut conn, uid)
        .await?
        .filter(|u| u.removed_at.is_none() && u.deactivated_at.is_none()))
}

/// Sets a password through a one-time link. Every existing session of the user ends.
pub async fn set_password_with_link(
    state: &AppState,
    code: &str,
    password: Sensitive,
    password_confirm: Sensitive,
    request: &RequestInfo,
) -> Result<UserRow, AppError> {
    validate_new_password(password.expose(), password_confirm.expose())?;
    if password_link_user(state, code).await?.is_none() {
        return Err(link_dead());
    }
    let hash = hash_password(state, password).await?;
    let code_hash = state.key.keyed_hash(code.as_bytes());
    let now = now();
    let request = request.clone();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let Some(row) =
                    codes::find_valid(conn, codes::SET_PASSWORD, &code_hash, now).await?
                else {
                    return Err(link_dead());
                };
                let Some(uid) = row.user_id else {
                    return Err(link_dead());
                };
                if !codes::consume(conn, row.id, now).await? {
                    return Err(link_dead());
                }
                users::set_password(conn, uid, &hash, now).await?;
                // The link signs them in.
                users::touch_last_login(conn, uid, now).await?;
                crate::backend::repo::sessions::delete_for_user(conn, uid).await?;
                let user = users::find(conn, uid).await?.ok_or_else(link_dead)?;
                let actor = principal_for(&user, &request);
                audit::record(
                    conn,
                    &actor,
                    action::PASSWORD_SET,
                    Target {
                        kind: "user",
                        id: Some(uid),
                        label: &user.email,
                    },
                    json!({}),
                )
                .await?;
                Ok(user)
            })
        })
        .await
}

fn link_dead() -> AppError {
    AppError::invalid(
        "code",
        "This link has expired or was already used. Ask an Admin for a new one.",
    )
}
