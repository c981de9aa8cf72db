//! Team members: invitations with one-time set-password links, roles, deactivation, removal.
//! Admins only. The last active Admin can be neither demoted, deactivated nor removed.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use crate::backend::auth::Principal;
use crate::backend::db::Conn;
use crate::backend::repo::users::{NewUser, UserRow};
use crate::backend::repo::{codes, epoch, sessions, tokens, users};
use crate::backend::state::AppState;
use crate::domain::limits::SET_PASSWORD_LINK_TTL_SECS;
use crate::domain::names::{normalize_email, validate_display_name};
use crate::domain::{policy, Role, Sensitive};
use crate::errors::AppError;
use crate::model::{InviteLink, RevokeReason, UserStatus, UserView};

fn require_admin(me: &Principal) -> Result<(), AppError> {
    me.require_session()?;
    me.require(
        policy::can_manage_team(me.role),
        "Only Admins can manage the team.",
    )
}

pub fn view(row: &UserRow, live_tokens: i64) -> UserView {
    UserView {
        id: row.id,
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: Role::parse(&row.role).unwrap_or(Role::Viewer),
        status: if row.deactivated_at.is_some() {
            UserStatus::Deactivated
        } else if row.password_hash.is_none() {
            UserStatus::Invited
        } else {
            UserStatus::Active
        },
        created_at: row.created_at,
        last_login_at: row.last_login_at,
        live_tokens,
        second_factor: false,
    }
}

/// Everyone signed in may see who is on the team; only Admins change it.
pub async fn list(state: &AppState, _me: &Principal) -> Result<Vec<UserView>, AppError> {
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let rows = users::list_live(&mut conn).await?;
    let counts = users::live_token_counts(&mut conn, now()).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let with_app = crate::backend::repo::second_factors::with_totp(&mut conn, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let n = counts
                .iter()
                .find(|(uid, _)| *uid == Some(r.id))
                .map(|(_, n)| *n)
                .unwrap_or(0);
            UserView {
                second_factor: with_app.contains(&r.id),
                ..view(r, n)
            }
        })
        .collect())
}

pub async fn display_name(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let mut pooled = state.db.get().await?;
    Ok(users::find(&mut pooled.conn(), user_id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default())
}

fn set_password_link(state: &AppState, code: &Sensitive) -> Sensitive {
    Sensitive::new(
        state
            .config
            .link(&format!("/set-password?code={}", code.expose())),
    )
}

/// Creates a team member without a password and returns their one-time set-password link.
pub async fn invite(
    state: &AppState,
    me: &Principal,
    email: &str,
    display_name: &str,
    role: &str,
) -> Result<InviteLink, AppError> {
    require_admin(me)?;
    let email = normalize_email(email)?;
    let display_name = validate_display_name(display_name)?;
    let role = Role::parse_field("role", role)?;
    let (code, code_hash) = state.key.new_code();
    let now = now();
    let expires_at = now + SET_PASSWORD_LINK_TTL_SECS;
    let me = me.clone();
    let row = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if users::find_live_by_email(conn, &email).await?.is_some() {
                    return Err(email_taken());
                }
                let user = users::insert(
                    conn,
                    &NewUser {
                        email: &email,
                        display_name: &display_name,
                        password_hash: None,
                        role: role.as_str(),
                        created_at: now,
                        created_by: me.user_id(),
                        updated_at: now,
                    },
                )
                .await
                .map_err(|e| unique_or(e, email_taken))?;
                codes::insert(
                    conn,
                    codes::SET_PASSWORD,
                    &code_hash,
                    Some(user.id),
                    now,
                    expires_at,
                )
                .await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_INVITE,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({ "role": role.as_str() }),
                )
                .await?;
                Ok(user)
            })
        })
        .await?;
    Ok(InviteLink {
        user: view(&row, 0),
        link: set_password_link(state, &code),
        expires_at,
    })
}

fn email_taken() -> AppError {
    AppError::conflict(
        "email",
        "Someone on the team already uses this e-mail address.",
    )
}

fn unique_or(e: diesel::result::Error, f: fn() -> AppError) -> AppError {
    if matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    ) {
        f()
    } else {
        AppError::from(e)
    }
}

/// A fresh set-password link for a member (forgotten password, expired invitation). Earlier
/// links stop working; the current password keeps working until the link is used.
pub async fn reset_link(
    state: &AppState,
    me: &Principal,
    user_id: i64,
) -> Result<InviteLink, AppError> {
    require_admin(me)?;
    let (code, code_hash) = state.key.new_code();
    let now = now();
    let expires_at = now + SET_PASSWORD_LINK_TTL_SECS;
    let me = me.clone();
    let (row, live) = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let user = live_user(conn, user_id).await?;
                codes::invalidate(conn, codes::SET_PASSWORD, Some(user.id), now).await?;
                codes::insert(
                    conn,
                    codes::SET_PASSWORD,
                    &code_hash,
                    Some(user.id),
                    now,
                    expires_at,
                )
                .await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_LINK,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({}),
                )
                .await?;
                let live = tokens::count_live(conn, None, Some(user.id), now).await?;
                Ok::<_, AppError>((user, live))
            })
        })
        .await?;
    Ok(InviteLink {
        user: view(&row, live),
        link: set_password_link(state, &code),
        expires_at,
    })
}

/// `reset_link` for the person with this e-mail address (the command line knows people by
/// address, not by id).
pub async fn reset_link_by_email(
    state: &AppState,
    me: &Principal,
    email: &str,
) -> Result<InviteLink, AppError> {
    require_admin(me)?;
    let email = normalize_email(email)?;
    let user = {
        let mut pooled = state.db.get().await?;
        users::find_live_by_email(&mut pooled.conn(), &email)
            .await?
            .ok_or_else(|| AppError::not_found(format!("The team member {email}")))?
    };
    reset_link(state, me, user.id).await
}

async fn live_user(conn: &mut Conn<'_>, id: i64) -> Result<UserRow, AppError> {
    users::find(conn, id)
        .await?
        .filter(|u| u.removed_at.is_none())
        .ok_or_else(|| AppError::not_found("The team member"))
}

/// Refuses a change that would leave no active Admin. On PostgreSQL the Admin rows are locked
/// first, so two Admins demoting each other at once cannot both succeed.
async fn ensure_other_admin(
    conn: &mut Conn<'_>,
    target: &UserRow,
    what: &str,
) -> Result<(), AppError> {
    let is_active_admin = target.role == Role::Admin.as_str()
        && target.deactivated_at.is_none()
        && target.password_hash.is_some();
    if !is_active_admin {
        return Ok(());
    }
    if let Conn::Pg(c) = conn {
        use crate::backend::db::schema::users as u;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        u::table
            .filter(u::role.eq("admin"))
            .filter(u::removed_at.is_null())
            .select(u::id)
            .for_update()
            .load::<i64>(*c)
            .await?;
    }
    if users::count_active_admins(conn).await? <= 1 {
        return Err(AppError::limit(format!(
            "{} is the last active Admin and cannot be {what}. Make someone else an Admin first.",
            target.email
        )));
    }
    Ok(())
}

pub async fn change_role(
    state: &AppState,
    me: &Principal,
    user_id: i64,
    role: &str,
) -> Result<UserView, AppError> {
    require_admin(me)?;
    let role = Role::parse_field("role", role)?;
    let me = me.clone();
    let now = now();
    let (row, live) = state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let user = live_user(conn, user_id).await?;
                let old = user.role.clone();
                if old == role.as_str() {
                    let live = tokens::count_live(conn, None, Some(user.id), now).await?;
                    return Ok((user, live));
                }
                if role != Role::Admin {
                    ensure_other_admin(conn, &user, "demoted").await?;
                }
                users::set_role(conn, user.id, role.as_str(), now).await?;
                tokens::set_owner_role(conn, None, Some(user.id), role.as_str()).await?;
                epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_ROLE,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({ "from": old, "to": role.as_str() }),
                )
                .await?;
                let user = live_user(conn, user.id).await?;
                let live = tokens::count_live(conn, None, Some(user.id), now).await?;
                Ok::<_, AppError>((user, live))
            })
        })
        .await?;
    Ok(view(&row, live))
}

/// Deactivation stops the person's sessions and personal tokens at once; nothing is deleted,
/// and reactivation brings the tokens back.
pub async fn set_active(
    state: &AppState,
    me: &Principal,
    user_id: i64,
    active: bool,
) -> Result<UserView, AppError> {
    require_admin(me)?;
    if !active && me.user_id() == Some(user_id) {
        return Err(AppError::limit(
            "You cannot deactivate yourself. Ask another Admin.",
        ));
    }
    let me = me.clone();
    let now = now();
    let (row, live) = state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let user = live_user(conn, user_id).await?;
                let currently_active = user.deactivated_at.is_none();
                if currently_active != active {
                    if !active {
                        ensure_other_admin(conn, &user, "deactivated").await?;
                    }
                    users::set_deactivated(conn, user.id, (!active).then_some(now), now).await?;
                    tokens::set_owner_disabled(conn, None, Some(user.id), !active).await?;
                    if !active {
                        sessions::delete_for_user(conn, user.id).await?;
                    }
                    epoch::bump(conn).await?;
                    audit::record(
                        conn,
                        &me,
                        if active {
                            action::USER_REACTIVATE
                        } else {
                            action::USER_DEACTIVATE
                        },
                        Target {
                            kind: "user",
                            id: Some(user.id),
                            label: &user.email,
                        },
                        json!({}),
                    )
                    .await?;
                }
                let user = live_user(conn, user.id).await?;
                let live = tokens::count_live(conn, None, Some(user.id), now).await?;
                Ok::<_, AppError>((user, live))
            })
        })
        .await?;
    Ok(view(&row, live))
}

/// Removal is for good: the person's personal tokens are revoked (never restorable), their
/// sessions and links end, and the e-mail address becomes free. The audit log keeps the record.
pub async fn remove(state: &AppState, me: &Principal, user_id: i64) -> Result<(), AppError> {
    require_admin(me)?;
    if me.user_id() == Some(user_id) {
        return Err(AppError::limit(
            "You cannot remove yourself. Ask another Admin.",
        ));
    }
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let user = live_user(conn, user_id).await?;
                ensure_other_admin(conn, &user, "removed").await?;
                users::set_removed(conn, user.id, now).await?;
                tokens::set_owner_disabled(conn, None, Some(user.id), true).await?;
                let revoked = tokens::revoke_all_for_owner(
                    conn,
                    None,
                    Some(user.id),
                    now,
                    &me.label,
                    RevokeReason::OwnerRemoved.as_str(),
                )
                .await?;
                codes::invalidate(conn, codes::SET_PASSWORD, Some(user.id), now).await?;
                sessions::delete_for_user(conn, user.id).await?;
                epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_REMOVE,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({ "tokens_revoked": revoked }),
                )
                .await?;
                Ok::<_, AppError>(())
            })
        })
        .await
}

/// For `keyward user create`: a user with a password, created directly (no link).
pub async fn create_with_password(
    state: &AppState,
    me: &Principal,
    email: &str,
    display_name: &str,
    role: Role,
    password: Sensitive,
) -> Result<UserView, AppError> {
    require_admin(me)?;
    let email = normalize_email(email)?;
    let display_name = validate_display_name(display_name)?;
    crate::domain::names::validate_new_password(password.expose(), password.expose())?;
    let hash = super::login::hash_password(state, password).await?;
    let now = now();
    let me = me.clone();
    let row = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if users::find_live_by_email(conn, &email).await?.is_some() {
                    return Err(email_taken());
                }
                let user = users::insert(
                    conn,
                    &NewUser {
                        email: &email,
                        display_name: &display_name,
                        password_hash: Some(&hash),
                        role: role.as_str(),
                        created_at: now,
                        created_by: me.user_id(),
                        updated_at: now,
                    },
                )
                .await
                .map_err(|e| unique_or(e, email_taken))?;
                // Setup is done once any user exists: outstanding setup codes die.
                codes::invalidate(conn, codes::BOOTSTRAP, None, now).await?;
                audit::record(
                    conn,
                    &me,
                    action::USER_INVITE,
                    Target {
                        kind: "user",
                        id: Some(user.id),
                        label: &user.email,
                    },
                    json!({ "role": role.as_str(), "with_password": true }),
                )
                .await?;
                Ok(user)
            })
        })
        .await?;
    Ok(view(&row, 0))
}
