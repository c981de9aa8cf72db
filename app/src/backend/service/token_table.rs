//! The organisation-wide token table: every token of every account (Admins), or every
//! service-account token (Power Users); sorted, searched, filtered, paged; saved searches;
//! bulk revoke; the rows of the CSV export.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use super::tokens::to_view;
use crate::backend::auth::Principal;
use crate::backend::repo::saved_searches as saved;
use crate::backend::repo::token_table::{self as repo, TableFilter, TableQuery};
use crate::backend::repo::{epoch, tokens};
use crate::backend::state::AppState;
use crate::backend::webhooks::outbox;
use crate::domain::expiry::parse_date;
use crate::domain::policy::{self, TokenTableScope};
use crate::domain::token_query::{TokenQuery, COUNT_CAP};
use crate::domain::{FieldError, Role};
use crate::errors::AppError;
use crate::model::{RevokeReason, SavedSearchView, TokenTablePage, TokenView};

fn scope(me: &Principal) -> Result<TokenTableScope, AppError> {
    policy::token_table_scope(me.role).ok_or_else(|| {
        AppError::forbidden("The organisation-wide token table is for Power Users and Admins.")
    })
}

/// Resolves a view to a filter: dates to times, the caller's scope.
fn filter_for(me: &Principal, q: &TokenQuery, now: i64) -> Result<TableFilter, AppError> {
    let scope = scope(me)?;
    let day_start = |d: &str| {
        parse_date(d)
            .ok()
            .map(|d| d.midnight().assume_utc().unix_timestamp())
    };
    Ok(TableFilter {
        service_accounts_only: scope == TokenTableScope::ServiceAccountTokens,
        kind: q.owner_type.map(|k| k.as_str()),
        statuses: q.statuses.clone(),
        usage: Some(q.usage),
        expiring_within_days: q.expiring_within,
        owners: q.owners.clone(),
        created_from: q.created_from.as_deref().and_then(day_start),
        created_before: q
            .created_to
            .as_deref()
            .and_then(day_start)
            .map(|t| t + crate::domain::limits::DAY_SECS),
        search: (!q.q.is_empty()).then(|| q.q.to_lowercase()),
        now,
        ..TableFilter::default()
    })
}

/// One page of the table: one statement gives the rows and the count (exact up to
/// `COUNT_CAP`, "more than" beyond it).
pub async fn list(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
) -> Result<TokenTablePage, AppError> {
    let now = now();
    let query = TableQuery {
        filter: filter_for(me, q, now)?,
        sort: q.sort,
        desc: q.desc,
        offset: q.offset(),
        limit: q.per_page,
    };
    let mut pooled = state.db.get().await?;
    let page = repo::page(&mut pooled.conn(), &query).await?;
    Ok(TokenTablePage {
        items: page.rows.into_iter().map(|r| to_view(r, now)).collect(),
        total: page.matches.min(COUNT_CAP),
        capped: page.matches > COUNT_CAP,
        page: q.page,
        per_page: q.per_page,
    })
}

/// How many live tokens a bulk revoke of this view would revoke: exact up to `COUNT_CAP`,
/// `COUNT_CAP + 1` meaning "more" (a bulk revoke takes at most `COUNT_CAP` tokens).
pub async fn live_matching(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
) -> Result<i64, AppError> {
    let now = now();
    let mut pooled = state.db.get().await?;
    let filter = bulk_filter(me, q, now)?;
    Ok(repo::count_capped(&mut pooled.conn(), &filter, COUNT_CAP + 1).await?)
}

/// What a bulk revoke may touch: live tokens in the view, and for Power Users only tokens of
/// accounts whose role is at most their own.
fn bulk_filter(me: &Principal, q: &TokenQuery, now: i64) -> Result<TableFilter, AppError> {
    me.require_session()?;
    let mut filter = filter_for(me, q, now)?;
    filter.live_only = true;
    if me.role != Role::Admin {
        filter.owner_roles = Some(me.role.assignable().map(Role::as_str).collect());
    }
    Ok(filter)
}

/// Revokes every live token matching the view, in one transaction. `expected` is the count
/// the user confirmed; if the view now matches a different number, nothing is revoked and
/// the user is asked again.
pub async fn revoke_matching(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
    expected: i64,
) -> Result<i64, AppError> {
    if !q.has_filters() {
        return Err(AppError::invalid(
            "query",
            "Choose at least one filter or search before revoking everything that matches.",
        ));
    }
    let me = me.clone();
    let q = q.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let filter = bulk_filter(&me, &q, now)?;
                let ids = repo::all_ids(conn, &filter).await?;
                if ids.len() as i64 > COUNT_CAP {
                    return Err(AppError::invalid(
                        "query",
                        format!("More than {COUNT_CAP} live tokens match. Narrow the filters: a bulk revoke takes at most {COUNT_CAP} tokens."),
                    ));
                }
                if ids.len() as i64 != expected {
                    return Err(AppError::Conflict {
                        field: None,
                        message: format!(
                            "The filter now matches {} live tokens, not {expected}. Review the table and confirm again.",
                            ids.len()
                        ),
                    });
                }
                let revoked_ids = tokens::revoke_many(conn, &ids, now, &me.label, RevokeReason::Bulk.as_str()).await?;
                let revoked = revoked_ids.len();
                outbox::tokens_revoked(conn, &revoked_ids, RevokeReason::Bulk.as_str(), now).await?;
                epoch::bump(conn).await?;
                let label = format!("{revoked} tokens");
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_BULK_REVOKE,
                    Target { kind: "token", id: None, label: &label },
                    json!({
                        "count": revoked,
                        "filter": q.without_page().to_query_string(),
                        "token_ids": revoked_ids.iter().take(1000).collect::<Vec<_>>(),
                    }),
                )
                .await?;
                Ok(revoked as i64)
            })
        })
        .await
}

/// Revokes the selected tokens (each must be one the caller may manage), in one transaction.
pub async fn revoke_selected(
    state: &AppState,
    me: &Principal,
    ids: Vec<i64>,
) -> Result<i64, AppError> {
    me.require_session()?;
    scope(me)?;
    if ids.is_empty() {
        return Err(AppError::invalid(
            "ids",
            "Select at least one token to revoke.",
        ));
    }
    if ids.len() > 1000 {
        return Err(AppError::invalid(
            "ids",
            "Select at most 1000 tokens at a time, or revoke by filter.",
        ));
    }
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let rows = repo::rows_by_ids(conn, &ids).await?;
                if rows.len() != ids.len() {
                    return Err(AppError::not_found("One of the selected tokens"));
                }
                for row in &rows {
                    super::tokens::require_manage_token(&me, row)?;
                    if row.0.service_account_id.is_none() && me.role != Role::Admin {
                        return Err(AppError::forbidden(
                            "Only Admins can revoke personal tokens of others.",
                        ));
                    }
                }
                let revoked_ids =
                    tokens::revoke_many(conn, &ids, now, &me.label, RevokeReason::Bulk.as_str())
                        .await?;
                let revoked = revoked_ids.len();
                outbox::tokens_revoked(conn, &revoked_ids, RevokeReason::Bulk.as_str(), now)
                    .await?;
                epoch::bump(conn).await?;
                let label = format!("{revoked} tokens");
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_BULK_REVOKE,
                    Target {
                        kind: "token",
                        id: None,
                        label: &label,
                    },
                    json!({ "count": revoked, "token_ids": revoked_ids }),
                )
                .await?;
                Ok(revoked as i64)
            })
        })
        .await
}

/// One batch of the CSV export: matching tokens with ids above `after`, in id order.
pub async fn export_batch(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
    after: i64,
    limit: i64,
) -> Result<Vec<TokenView>, AppError> {
    let now = now();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let mut filter = filter_for(me, q, now)?;
    filter.after_id = Some(after);
    let rows = repo::rows_in_id_order(&mut conn, &filter, limit).await?;
    Ok(rows.into_iter().map(|r| to_view(r, now)).collect())
}

fn search_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "Give the search a name."));
    }
    if name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "Use at most 80 printable characters.",
        ));
    }
    Ok(name.to_string())
}

pub async fn saved_list(
    state: &AppState,
    me: &Principal,
) -> Result<Vec<SavedSearchView>, AppError> {
    me.require_session()?;
    scope(me)?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let mut pooled = state.db.get().await?;
    Ok(saved::visible_to(&mut pooled.conn(), uid)
        .await?
        .into_iter()
        .map(|(row, owner)| SavedSearchView {
            mine: row.owner_id == uid,
            id: row.id,
            name: row.name,
            query: row.query,
            shared: row.shared,
            owner,
        })
        .collect())
}

pub async fn save(
    state: &AppState,
    me: &Principal,
    name: &str,
    query: &str,
    shared: bool,
) -> Result<SavedSearchView, AppError> {
    me.require_session()?;
    scope(me)?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let name = search_name(name)?;
    // Stored canonical and without the page: a saved search opens at its first page.
    let query = TokenQuery::from_query_string(query)
        .without_page()
        .to_query_string();
    let now = now();
    let mut pooled = state.db.get_writer().await?;
    let row = saved::insert(&mut pooled.conn(), uid, &name, &query, shared, now)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::conflict("name", "You already have a saved search with this name."),
            e => AppError::from(e),
        })?;
    Ok(SavedSearchView {
        id: row.id,
        name: row.name,
        query: row.query,
        shared: row.shared,
        owner: me.label.clone(),
        mine: true,
    })
}

pub async fn delete_saved(state: &AppState, me: &Principal, id: i64) -> Result<(), AppError> {
    me.require_session()?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let mut pooled = state.db.get_writer().await?;
    let mut conn = pooled.conn();
    match saved::find(&mut conn, id).await? {
        Some(row) if row.owner_id == uid => {
            saved::delete(&mut conn, id).await?;
            Ok(())
        }
        Some(row) if row.shared => Err(AppError::forbidden(
            "Only its owner can delete a saved search.",
        )),
        _ => Err(AppError::not_found("The saved search")),
    }
}
