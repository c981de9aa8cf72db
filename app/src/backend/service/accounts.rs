//! Service accounts: create, describe, assign a role, disable/enable, delete.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use crate::backend::auth::Principal;
use crate::backend::db::Conn;
use crate::backend::repo::service_accounts::{self as repo, NewServiceAccount, ServiceAccountRow};
use crate::backend::repo::{epoch, tokens};
use crate::backend::state::AppState;
use crate::domain::names::{validate_description, validate_service_account_name};
use crate::domain::{policy, Role};
use crate::errors::AppError;
use crate::model::{Page, RevokeReason, ServiceAccountView};

pub const PER_PAGE: i64 = 25;

pub fn role_of(row: &ServiceAccountRow) -> Role {
    Role::parse(&row.role).unwrap_or(Role::Viewer)
}

fn view(row: ServiceAccountRow, live_tokens: i64, last_used_at: Option<i64>) -> ServiceAccountView {
    ServiceAccountView {
        role: role_of(&row),
        id: row.id,
        name: row.name,
        description: row.description,
        can_introspect: row.can_introspect,
        disabled_at: row.disabled_at,
        created_at: row.created_at,
        created_by: row.created_by_label,
        live_tokens,
        last_used_at,
    }
}

async fn with_stats(
    conn: &mut Conn<'_>,
    rows: Vec<ServiceAccountRow>,
) -> Result<Vec<ServiceAccountView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts = repo::live_token_counts(conn, &ids, now()).await?;
    let used = repo::last_used(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = counts
                .iter()
                .find(|(id, _)| *id == Some(r.id))
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let last = used
                .iter()
                .find(|(id, _)| *id == Some(r.id))
                .and_then(|(_, t)| *t);
            view(r, n, last)
        })
        .collect())
}

pub async fn list(
    state: &AppState,
    me: &Principal,
    search: &str,
    page: i64,
) -> Result<Page<ServiceAccountView>, AppError> {
    me.require(
        policy::can_read_service_accounts(me.role),
        "You cannot see service accounts.",
    )?;
    let page = page.clamp(1, 1_000_000);
    let search = crate::domain::names::search_text(search);
    let search = search.as_str();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let (rows, total) = repo::list(
        &mut conn,
        (!search.is_empty()).then_some(search),
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    Ok(Page {
        items: with_stats(&mut conn, rows).await?,
        total,
        page,
        per_page: PER_PAGE,
    })
}

pub async fn get(
    state: &AppState,
    me: &Principal,
    id: i64,
) -> Result<ServiceAccountView, AppError> {
    me.require(
        policy::can_read_service_accounts(me.role),
        "You cannot see service accounts.",
    )?;
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let row = repo::find_live(&mut conn, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(with_stats(&mut conn, vec![row]).await?.remove(0))
}

pub async fn find_by_name(state: &AppState, name: &str) -> Result<ServiceAccountRow, AppError> {
    let mut pooled = state.db.get().await?;
    repo::find_live_by_name(&mut pooled.conn(), name.trim())
        .await?
        .ok_or_else(|| AppError::not_found(format!("The service account “{}”", name.trim())))
}

fn not_found() -> AppError {
    AppError::not_found("The service account")
}

fn name_taken(name: &str) -> AppError {
    AppError::conflict(
        "name",
        format!("A service account named “{name}” already exists. Pick another name."),
    )
}

/// May `me` change this account (and its tokens)? Power Users stop at accounts whose role is
/// above their own.
pub fn require_manage(me: &Principal, account: &ServiceAccountRow) -> Result<(), AppError> {
    me.require_session()?;
    me.require(
        policy::can_manage_service_account(me.role, role_of(account)),
        if me.role >= Role::PowerUser {
            "This service account has a higher role than yours; only an Admin can change it."
        } else {
            "Only Power Users and Admins can manage service accounts."
        },
    )
}

fn require_assign(me: &Principal, role: Role) -> Result<(), AppError> {
    if policy::can_assign_role(me.role, role) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            message: format!(
                "You can assign roles up to your own ({}); {} is above it.",
                me.role.label(),
                role.label()
            ),
        })
    }
}

pub async fn create(
    state: &AppState,
    me: &Principal,
    name: &str,
    description: &str,
    role: &str,
) -> Result<ServiceAccountView, AppError> {
    me.require_session()?;
    me.require(
        policy::can_create_service_accounts(me.role),
        "Only Power Users and Admins can create service accounts.",
    )?;
    let name = validate_service_account_name(name)?;
    let description = validate_description(description)?;
    let role = Role::parse_field("role", role)?;
    require_assign(me, role)?;
    let me = me.clone();
    let now = now();
    let row = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                if repo::find_live_by_name(conn, &name).await?.is_some() {
                    return Err(name_taken(&name));
                }
                let row = repo::insert(
                    conn,
                    &NewServiceAccount {
                        name: &name,
                        description: &description,
                        role: role.as_str(),
                        can_introspect: false,
                        created_at: now,
                        created_by: me.user_id(),
                        created_by_label: &me.label,
                        updated_at: now,
                    },
                )
                .await
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => name_taken(&name),
                    e => AppError::from(e),
                })?;
                audit::record(
                    conn,
                    &me,
                    action::SA_CREATE,
                    Target {
                        kind: "service_account",
                        id: Some(row.id),
                        label: &row.name,
                    },
                    json!({ "role": role.as_str(), "description": description }),
                )
                .await?;
                Ok(row)
            })
        })
        .await?;
    Ok(view(row, 0, None))
}

/// Changes the description and role. A role change applies to every token of the account at
/// once: tokens act with their owner's current role.
pub async fn update(
    state: &AppState,
    me: &Principal,
    id: i64,
    description: &str,
    role: &str,
    can_introspect: Option<bool>,
) -> Result<ServiceAccountView, AppError> {
    me.require_session()?;
    let description = validate_description(description)?;
    let role = Role::parse_field("role", role)?;
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_live_locked(conn, id)
                    .await?
                    .ok_or_else(not_found)?;
                require_manage(&me, &row)?;
                let old_role = role_of(&row);
                if role != old_role {
                    require_assign(&me, role)?;
                }
                let introspect = match can_introspect {
                    Some(flag) if flag != row.can_introspect => {
                        me.require(
                            me.role == Role::Admin,
                            "Only Admins can give a service account the introspection permission.",
                        )?;
                        flag
                    }
                    _ => row.can_introspect,
                };
                repo::update(conn, id, &description, role.as_str(), introspect, now).await?;
                tokens::set_owner_role(conn, Some(id), None, role.as_str()).await?;
                if role != old_role || introspect != row.can_introspect {
                    epoch::bump(conn).await?;
                }
                audit::record(
                    conn,
                    &me,
                    action::SA_UPDATE,
                    Target {
                        kind: "service_account",
                        id: Some(id),
                        label: &row.name,
                    },
                    json!({
                        "role": { "from": old_role.as_str(), "to": role.as_str() },
                        "description_changed": description != row.description,
                        "can_introspect": introspect,
                    }),
                )
                .await?;
                let row = repo::find_live(conn, id).await?.ok_or_else(not_found)?;
                Ok::<_, AppError>(with_stats(conn, vec![row]).await?.remove(0))
            })
        })
        .await
}

/// Disabling stops every token of the account at once; nothing is deleted.
pub async fn set_enabled(
    state: &AppState,
    me: &Principal,
    id: i64,
    enabled: bool,
) -> Result<ServiceAccountView, AppError> {
    me.require_session()?;
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_live_locked(conn, id)
                    .await?
                    .ok_or_else(not_found)?;
                require_manage(&me, &row)?;
                if row.disabled_at.is_none() != enabled {
                    repo::set_disabled(conn, id, (!enabled).then_some(now), now).await?;
                    tokens::set_owner_disabled(conn, Some(id), None, !enabled).await?;
                    epoch::bump(conn).await?;
                    audit::record(
                        conn,
                        &me,
                        if enabled {
                            action::SA_ENABLE
                        } else {
                            action::SA_DISABLE
                        },
                        Target {
                            kind: "service_account",
                            id: Some(id),
                            label: &row.name,
                        },
                        json!({}),
                    )
                    .await?;
                }
                let row = repo::find_live(conn, id).await?.ok_or_else(not_found)?;
                Ok::<_, AppError>(with_stats(conn, vec![row]).await?.remove(0))
            })
        })
        .await
}

/// Deletes the account after the caller typed its name. Its tokens are revoked for good; the
/// rows stay (revoked) so the token table and audit log keep the history.
pub async fn delete(
    state: &AppState,
    me: &Principal,
    id: i64,
    confirm_name: &str,
) -> Result<(), AppError> {
    me.require_session()?;
    let me = me.clone();
    let now = now();
    let confirm = confirm_name.trim().to_string();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let row = repo::find_live_locked(conn, id)
                    .await?
                    .ok_or_else(not_found)?;
                require_manage(&me, &row)?;
                if confirm != row.name {
                    return Err(AppError::invalid(
                        "confirm_name",
                        format!("Type the account name “{}” exactly to confirm.", row.name),
                    ));
                }
                repo::mark_deleted(conn, id, now).await?;
                tokens::set_owner_disabled(conn, Some(id), None, true).await?;
                let revoked = tokens::revoke_all_for_owner(
                    conn,
                    Some(id),
                    None,
                    now,
                    &me.label,
                    RevokeReason::OwnerDeleted.as_str(),
                )
                .await?;
                epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::SA_DELETE,
                    Target {
                        kind: "service_account",
                        id: Some(id),
                        label: &row.name,
                    },
                    json!({ "tokens_revoked": revoked }),
                )
                .await?;
                Ok(())
            })
        })
        .await
}
