//! Tokens of service accounts and personal tokens share one model and one set of rules:
//! at most 20 live per owner, names unique per owner, the secret shown once.

use serde_json::json;

use super::accounts::require_manage;
use super::audit::{self, action, Target};
use super::now;
use crate::backend::auth::{Principal, RequestInfo};
use crate::backend::db::Conn;
use crate::backend::repo::tokens::{self as repo, NewToken, TokenRow, TokenWithOwner};
use crate::backend::repo::{epoch, service_accounts, users};
use crate::backend::state::AppState;
use crate::domain::cidr::{format_allowlist, parse_allowlist};
use crate::domain::expiry::{resolve_expires_in, resolve_expiry, Grace};
use crate::domain::limits::MAX_LIVE_TOKENS_PER_OWNER;
use crate::domain::names::{token_search_text, validate_description, validate_token_name};
use crate::domain::token_format::TokenKind;
use crate::domain::{policy, Role};
use crate::errors::AppError;
use crate::model::{OwnerRef, RevokeReason, TokenSecret, TokenStatus, TokenView};

/// Whose tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    ServiceAccount(i64),
    User(i64),
}

impl Owner {
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Owner::ServiceAccount(id) => (Some(id), None),
            Owner::User(id) => (None, Some(id)),
        }
    }

    fn kind(self) -> TokenKind {
        match self {
            Owner::ServiceAccount(_) => TokenKind::ServiceAccount,
            Owner::User(_) => TokenKind::Personal,
        }
    }
}

/// The status a token shows, worked out from its row and its owner at `now`.
pub fn status_of(row: &TokenRow, owner_disabled: bool, now: i64) -> TokenStatus {
    crate::domain::token_status::status_at(
        row.revoked_at.is_some(),
        row.expires_at,
        owner_disabled,
        now,
    )
}

pub fn to_view((row, sa, user): TokenWithOwner, now: i64) -> TokenView {
    let (owner, role, owner_disabled) = match (&sa, &user) {
        (Some((name, role, disabled, deleted, _)), _) => (
            OwnerRef {
                kind: TokenKind::ServiceAccount,
                id: row.service_account_id.unwrap_or_default(),
                name: name.clone(),
                gone: deleted.is_some(),
            },
            role.clone(),
            disabled.is_some() || deleted.is_some(),
        ),
        (None, Some((email, _display, role, deactivated, removed))) => (
            OwnerRef {
                kind: TokenKind::Personal,
                id: row.user_id.unwrap_or_default(),
                name: email.clone(),
                gone: removed.is_some(),
            },
            role.clone(),
            deactivated.is_some() || removed.is_some(),
        ),
        (None, None) => (
            OwnerRef {
                kind: TokenKind::parse(&row.kind).unwrap_or(TokenKind::Personal),
                id: 0,
                name: "(unknown)".into(),
                gone: true,
            },
            Role::Viewer.as_str().to_string(),
            true,
        ),
    };
    let status = status_of(&row, owner_disabled, now);
    TokenView {
        id: row.id,
        kind: TokenKind::parse(&row.kind).unwrap_or(owner.kind),
        public_id: row.public_id,
        name: row.name,
        description: row.description,
        display_prefix: row.display_prefix,
        owner,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: row.created_at,
        created_by: row.created_by_label,
        expires_at: row.expires_at,
        sliding_days: row.sliding_days.map(i64::from),
        last_used_at: row.last_used_at,
        last_used_ip: row.last_used_ip,
        last_used_user_agent: row.last_used_user_agent,
        revoked_at: row.revoked_at,
        revoked_by: row.revoked_by_label,
        revoke_reason: row.revoke_reason.as_deref().and_then(RevokeReason::parse),
        rotated_at: row.rotated_at,
        previous_secret_expires_at: row.previous_secret_expires_at.filter(|at| *at > now),
        allowed_cidrs: row.allowed_cidrs,
        rate_limit_per_minute: row.rate_limit_per_minute.map(i64::from),
        status,
    }
}

/// Read access: service-account tokens are visible to everyone signed in (like the accounts);
/// personal tokens to their owner and to Admins.
pub(crate) fn require_read(me: &Principal, t: &TokenWithOwner) -> Result<(), AppError> {
    let (row, _, _) = t;
    if row.user_id.is_some()
        && row.user_id != me.user_id()
        && !policy::can_manage_others_personal_tokens(me.role)
    {
        return Err(token_not_found());
    }
    Ok(())
}

/// Management: a session (never a token), and the right to manage the owner.
pub(crate) fn require_manage_token(me: &Principal, t: &TokenWithOwner) -> Result<(), AppError> {
    me.require_session()?;
    require_read(me, t)?;
    let (row, sa, _) = t;
    if let (Some(id), Some((name, role, disabled, deleted, _))) = (row.service_account_id, sa) {
        let account = service_accounts::ServiceAccountRow {
            id,
            name: name.clone(),
            description: String::new(),
            role: role.clone(),
            can_introspect: false,
            disabled_at: *disabled,
            deleted_at: *deleted,
            created_at: 0,
            created_by: None,
            created_by_label: String::new(),
            updated_at: 0,
        };
        require_manage(me, &account)?;
    }
    Ok(())
}

fn token_not_found() -> AppError {
    AppError::not_found("The token")
}

pub(crate) async fn load(conn: &mut Conn<'_>, id: i64) -> Result<TokenWithOwner, AppError> {
    repo::find_with_owner(conn, id)
        .await?
        .ok_or_else(token_not_found)
}

pub async fn list(
    state: &AppState,
    me: &Principal,
    owner: Owner,
) -> Result<Vec<TokenView>, AppError> {
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    match owner {
        Owner::ServiceAccount(id) => {
            me.require(
                policy::can_read_service_accounts(me.role),
                "You cannot see service accounts.",
            )?;
            service_accounts::find_live(&mut conn, id)
                .await?
                .ok_or_else(|| AppError::not_found("The service account"))?;
        }
        Owner::User(id) => {
            if me.user_id() != Some(id) && !policy::can_manage_others_personal_tokens(me.role) {
                return Err(AppError::forbidden(
                    "Only Admins can see other people's tokens.",
                ));
            }
        }
    }
    let (sa, user) = owner.columns();
    let now = now();
    Ok(repo::list_for_owner(&mut conn, sa, user)
        .await?
        .into_iter()
        .map(|t| to_view(t, now))
        .collect())
}

/// Live tokens per kind (`service_account`, `personal`), for the metrics endpoint: an
/// operator's view, not a person's, so no principal.
pub async fn live_counts(state: &AppState) -> Result<Vec<(String, i64)>, AppError> {
    let mut pooled = state.db.get().await?;
    Ok(repo::live_by_kind(&mut pooled.conn(), now()).await?)
}

pub async fn get(state: &AppState, me: &Principal, id: i64) -> Result<TokenView, AppError> {
    let mut pooled = state.db.get().await?;
    let t = load(&mut pooled.conn(), id).await?;
    require_read(me, &t)?;
    Ok(to_view(t, now()))
}

pub struct NewTokenInput<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub expiry: ExpiryInput<'a>,
    /// Valid N days after the last use instead of a fixed date (N from the expiry).
    pub sliding: bool,
    /// CIDR ranges, one per line or comma-separated; empty allows any address.
    pub allowed_cidrs: &'a str,
    /// Requests per minute; empty uses the organisation default.
    pub rate_limit_per_minute: &'a str,
}

impl<'a> NewTokenInput<'a> {
    /// A plain token: name and expiry, no restrictions.
    pub fn simple(name: &'a str, expiry: ExpiryInput<'a>) -> Self {
        NewTokenInput {
            name,
            description: "",
            expiry,
            sliding: false,
            allowed_cidrs: "",
            rate_limit_per_minute: "",
        }
    }
}

/// How the expiry was given: the form's menu (and custom date), or the command line's `30d`.
pub enum ExpiryInput<'a> {
    Form {
        expires_in: &'a str,
        expires_on: &'a str,
    },
    Text(&'a str),
}

fn name_taken(name: &str) -> AppError {
    AppError::conflict(
        "name",
        format!("This owner already has a token named “{name}”. Pick another name."),
    )
}

fn cap_reached(owner: Owner) -> AppError {
    let who = match owner {
        Owner::ServiceAccount(_) => "This service account",
        Owner::User(_) => "You",
    };
    let verb = if matches!(owner, Owner::User(_)) {
        "have"
    } else {
        "has"
    };
    AppError::limit(format!(
        "{who} already {verb} {MAX_LIVE_TOKENS_PER_OWNER} live tokens, the maximum. Revoke one (or wait for one to expire) first."
    ))
}

/// Serialises token changes of one owner: a row lock on PostgreSQL, the write lock of the
/// `BEGIN IMMEDIATE` transaction on SQLite. Returns not-found for a deleted owner.
async fn lock_owner(conn: &mut Conn<'_>, owner: Owner) -> Result<(), AppError> {
    let found = match owner {
        Owner::ServiceAccount(id) => service_accounts::lock(conn, id).await?,
        Owner::User(id) => users::lock(conn, id).await?,
    };
    found
        .map(|_| ())
        .ok_or_else(|| AppError::not_found("The token owner"))
}

/// Creates a token and returns its secret, the only time it is ever available.
pub async fn create(
    state: &AppState,
    me: &Principal,
    owner: Owner,
    input: NewTokenInput<'_>,
) -> Result<TokenSecret, AppError> {
    me.require_session()?;
    let name = validate_token_name(input.name)?;
    let description = validate_description(input.description)?;
    let now = now();
    // Permission and owner checks before anything is generated.
    let (owner_name, owner_role) = {
        let mut pooled = state.db.get().await?;
        let mut conn = pooled.conn();
        match owner {
            Owner::ServiceAccount(id) => {
                let account = service_accounts::find_live(&mut conn, id)
                    .await?
                    .ok_or_else(|| AppError::not_found("The service account"))?;
                require_manage(me, &account)?;
                if account.disabled_at.is_some() {
                    return Err(AppError::limit(
                        "This service account is disabled. Enable it before creating tokens.",
                    ));
                }
                (account.name, account.role)
            }
            Owner::User(id) => {
                if me.user_id() != Some(id) {
                    return Err(AppError::forbidden(
                        "You can only create personal tokens for yourself.",
                    ));
                }
                let user = users::find(&mut conn, id)
                    .await?
                    .ok_or_else(|| AppError::not_found("The user"))?;
                (user.email, user.role)
            }
        }
    };
    let settings = super::settings::get(state).await?;
    let max = settings.max_token_lifetime_days;
    let (expires_at, days_text) = match input.expiry {
        ExpiryInput::Form {
            expires_in,
            expires_on,
        } => (
            resolve_expiry(expires_in, expires_on, now, max)?,
            expires_in,
        ),
        ExpiryInput::Text(text) => (resolve_expires_in(text, now, max)?, text),
    };
    let sliding_days = if input.sliding {
        Some(crate::domain::expiry::sliding_days(days_text)? as i32)
    } else {
        None
    };
    let allowed_cidrs = format_allowlist(&parse_allowlist(input.allowed_cidrs)?);
    let rate_limit =
        super::settings::parse_rate_limit("rate_limit_per_minute", input.rate_limit_per_minute)?
            .map(|n| n as i32);
    let secret = state.key.new_token(owner.kind());
    let me = me.clone();
    let (sa, user) = owner.columns();
    let kind = owner.kind();
    let hash = secret.hash.clone();
    let public_id = secret.public_id.clone();
    let display_prefix = secret.display_prefix.clone();
    let view = state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                lock_owner(conn, owner).await?;
                if repo::count_live(conn, sa, user, now).await? >= MAX_LIVE_TOKENS_PER_OWNER {
                    return Err(cap_reached(owner));
                }
                if repo::name_taken(conn, sa, user, &name, None).await? {
                    return Err(name_taken(&name));
                }
                let row = repo::insert(
                    conn,
                    &NewToken {
                        public_id: &public_id,
                        kind: kind.as_str(),
                        service_account_id: sa,
                        user_id: user,
                        name: &name,
                        description: &description,
                        display_prefix: &display_prefix,
                        secret_hash: &hash,
                        created_at: now,
                        created_by: me.user_id(),
                        created_by_label: &me.label,
                        expires_at,
                        sliding_days,
                        allowed_cidrs: &allowed_cidrs,
                        rate_limit_per_minute: rate_limit,
                        owner_name: &owner_name,
                        owner_role: &owner_role,
                        search_text: &token_search_text(
                            &name,
                            &display_prefix,
                            &owner_name,
                            &description,
                        ),
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
                    action::TOKEN_CREATE,
                    Target {
                        kind: "token",
                        id: Some(row.id),
                        label: &row.display_prefix,
                    },
                    json!({
                        "name": row.name,
                        "owner": owner_label(owner),
                        "expires_at": expires_at,
                        "sliding_days": sliding_days,
                        "allowed_cidrs": allowed_cidrs,
                        "rate_limit_per_minute": rate_limit,
                    }),
                )
                .await?;
                Ok::<_, AppError>(to_view(load(conn, row.id).await?, now))
            })
        })
        .await?;
    Ok(TokenSecret {
        token: view,
        secret: secret.token,
    })
}

fn owner_label(owner: Owner) -> String {
    match owner {
        Owner::ServiceAccount(id) => format!("service_account:{id}"),
        Owner::User(id) => format!("user:{id}"),
    }
}

/// Revokes a token at once. Revoking a revoked token changes nothing.
pub async fn revoke(state: &AppState, me: &Principal, id: i64) -> Result<TokenView, AppError> {
    me.require_session()?;
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let t = load(conn, id).await?;
                require_manage_token(&me, &t)?;
                if repo::revoke(conn, id, now, &me.label, RevokeReason::Manual.as_str()).await? == 1
                {
                    epoch::bump(conn).await?;
                    audit::record(
                        conn,
                        &me,
                        action::TOKEN_REVOKE,
                        Target {
                            kind: "token",
                            id: Some(id),
                            label: &t.0.display_prefix,
                        },
                        json!({ "name": t.0.name }),
                    )
                    .await?;
                }
                Ok::<_, AppError>(to_view(load(conn, id).await?, now))
            })
        })
        .await
}

/// Brings back a revoked token (Admins only). Tokens revoked because they leaked or their
/// owner was deleted stay dead; the cap of live tokens still applies.
pub async fn restore(state: &AppState, me: &Principal, id: i64) -> Result<TokenView, AppError> {
    me.require_session()?;
    me.require(
        policy::can_restore_tokens(me.role),
        "Only Admins can restore revoked tokens.",
    )?;
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let t = load(conn, id).await?;
                require_manage_token(&me, &t)?;
                let row = &t.0;
                let Some(reason) = row.revoke_reason.as_deref().and_then(RevokeReason::parse)
                else {
                    return Err(AppError::limit("This token is not revoked."));
                };
                if !reason.restorable() {
                    return Err(AppError::limit(format!(
                        "This token cannot be restored: it was {}.",
                        reason.label()
                    )));
                }
                let owner = match (row.service_account_id, row.user_id) {
                    (Some(sa), _) => Owner::ServiceAccount(sa),
                    (None, Some(u)) => Owner::User(u),
                    _ => return Err(token_not_found()),
                };
                lock_owner(conn, owner).await?;
                let expired = row.expires_at.is_some_and(|at| at <= now);
                let (sa, user) = owner.columns();
                if !expired
                    && repo::count_live(conn, sa, user, now).await? >= MAX_LIVE_TOKENS_PER_OWNER
                {
                    return Err(cap_reached(owner));
                }
                repo::restore(conn, id).await?;
                // Restored after the stale-token policy revoked it: a new week of warning,
                // not a revocation at the job's next run.
                crate::backend::repo::stale::forget_warning(conn, id).await?;
                epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_RESTORE,
                    Target {
                        kind: "token",
                        id: Some(id),
                        label: &row.display_prefix,
                    },
                    json!({ "name": row.name }),
                )
                .await?;
                Ok::<_, AppError>(to_view(load(conn, id).await?, now))
            })
        })
        .await
}

/// Deletes a token for good. Only revoked or expired tokens: a live one must be revoked first,
/// so deleting is never the way a working credential disappears by accident.
pub async fn delete(state: &AppState, me: &Principal, id: i64) -> Result<(), AppError> {
    me.require_session()?;
    let me = me.clone();
    let now = now();
    state
        .db
        .transaction(|conn| {
            Box::pin(async move {
                let t = load(conn, id).await?;
                require_manage_token(&me, &t)?;
                let row = &t.0;
                let dead = row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now);
                if !dead {
                    return Err(AppError::limit("Revoke this token before deleting it."));
                }
                repo::delete(conn, id).await?;
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_DELETE,
                    Target {
                        kind: "token",
                        id: Some(id),
                        label: &row.display_prefix,
                    },
                    json!({ "name": row.name }),
                )
                .await?;
                Ok(())
            })
        })
        .await
}

pub struct TokenEdit<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// `None` leaves the allowlist unchanged.
    pub allowed_cidrs: Option<&'a str>,
    /// `None` leaves the limit unchanged; `Some("")` clears it (organisation default).
    pub rate_limit_per_minute: Option<&'a str>,
}

/// Renames a token, edits its description, IP allowlist and rate limit.
pub async fn update(
    state: &AppState,
    me: &Principal,
    id: i64,
    edit: TokenEdit<'_>,
) -> Result<TokenView, AppError> {
    me.require_session()?;
    let name = validate_token_name(edit.name)?;
    let description = validate_description(edit.description)?;
    let cidrs = edit
        .allowed_cidrs
        .map(|text| parse_allowlist(text).map(|nets| format_allowlist(&nets)))
        .transpose()?;
    let rate = edit
        .rate_limit_per_minute
        .map(|text| super::settings::parse_rate_limit("rate_limit_per_minute", text))
        .transpose()?;
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let t = load(conn, id).await?;
                require_manage_token(&me, &t)?;
                let row = &t.0;
                if name != row.name
                    && repo::name_taken(conn, row.service_account_id, row.user_id, &name, Some(id))
                        .await?
                {
                    return Err(name_taken(&name));
                }
                let cidrs = cidrs.unwrap_or_else(|| row.allowed_cidrs.clone());
                let rate = match rate {
                    Some(r) => r.map(|n| n as i32),
                    None => row.rate_limit_per_minute,
                };
                let search_text =
                    token_search_text(&name, &row.display_prefix, &row.owner_name, &description);
                repo::update_details(conn, id, &name, &description, &cidrs, rate, &search_text)
                    .await
                    .map_err(|e| match e {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => name_taken(&name),
                        e => AppError::from(e),
                    })?;
                if cidrs != row.allowed_cidrs || rate != row.rate_limit_per_minute {
                    epoch::bump(conn).await?;
                }
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_UPDATE,
                    Target {
                        kind: "token",
                        id: Some(id),
                        label: &row.display_prefix,
                    },
                    json!({
                        "name": { "from": row.name, "to": name },
                        "description_changed": description != row.description,
                        "allowed_cidrs": cidrs,
                        "rate_limit_per_minute": rate,
                    }),
                )
                .await?;
                Ok::<_, AppError>(to_view(load(conn, id).await?, now))
            })
        })
        .await
}

/// A new secret for the same token (same id, name, expiry, history). The old secret keeps
/// working for the grace window, then dies.
pub async fn rotate(
    state: &AppState,
    me: &Principal,
    id: i64,
    grace: &str,
) -> Result<TokenSecret, AppError> {
    me.require_session()?;
    let grace = Grace::parse(grace)?;
    let me = me.clone();
    let now = now();
    let st = state.clone();
    let (view, secret) = state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let t = load(conn, id).await?;
                require_manage_token(&me, &t)?;
                let row = &t.0;
                if let Some(owner) = row.user_id {
                    me.require(
                        policy::can_obtain_personal_token_secret(me.user_id(), owner),
                        "Only its owner can rotate a personal token. You can revoke it.",
                    )?;
                }
                if row.revoked_at.is_some() {
                    return Err(AppError::limit(
                        "This token is revoked; restore it or create a new one.",
                    ));
                }
                if row.expires_at.is_some_and(|at| at <= now) {
                    return Err(AppError::limit("This token has expired; create a new one."));
                }
                let kind = TokenKind::parse(&row.kind).unwrap_or(TokenKind::Personal);
                let fresh = st.key.new_secret_for(kind, &row.public_id);
                let previous = (grace.seconds() > 0)
                    .then(|| (row.secret_hash.as_slice(), now + grace.seconds()));
                repo::rotate(conn, id, &fresh.hash, previous, now).await?;
                epoch::bump(conn).await?;
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_ROTATE,
                    Target {
                        kind: "token",
                        id: Some(id),
                        label: &row.display_prefix,
                    },
                    json!({ "name": row.name, "grace_seconds": grace.seconds() }),
                )
                .await?;
                Ok::<_, AppError>((to_view(load(conn, id).await?, now), fresh.token))
            })
        })
        .await?;
    Ok(TokenSecret {
        token: view,
        secret,
    })
}

/// Tokens reported as leaked (by anyone: the endpoint is public). Every reported string that
/// is a real token is revoked for good and audited with the reporter's request (address and
/// id); the caller learns nothing about which were real. Returns how many were revoked, for
/// the log.
pub async fn report_leaked(
    state: &AppState,
    reported: &[String],
    reporter: &RequestInfo,
) -> Result<usize, AppError> {
    let mut matched = Vec::new();
    let now = now();
    {
        let mut pooled = state.db.get().await?;
        let mut conn = pooled.conn();
        for text in reported {
            let Ok(parsed) = crate::domain::token_format::parse(text.trim()) else {
                continue;
            };
            let Some(row) = repo::find_by_public_id(&mut conn, parsed.public_id).await? else {
                continue;
            };
            let hash = state.key.keyed_hash(parsed.body.as_bytes());
            let current = crate::backend::crypto::hashes_equal(&hash, &row.secret_hash);
            // Past its grace the old secret opens nothing and is no longer this token's: a
            // report of it must not revoke the current secret.
            let previous = row.previous_secret_expires_at.is_some_and(|at| at > now)
                && row
                    .previous_secret_hash
                    .as_deref()
                    .is_some_and(|h| crate::backend::crypto::hashes_equal(&hash, h));
            if (current || previous) && row.revoke_reason.as_deref() != Some("leaked") {
                matched.push((row.id, row.display_prefix, row.name));
            }
        }
    }
    if matched.is_empty() {
        return Ok(0);
    }
    let reporter = reporter.clone();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let mut revoked = 0;
                for (id, prefix, name) in &matched {
                    if repo::mark_leaked(conn, *id, now).await? > 0 {
                        revoked += 1;
                        audit::record_anonymous(
                            conn,
                            "leak report",
                            &reporter,
                            action::TOKEN_LEAK_REPORT,
                            Target {
                                kind: "token",
                                id: Some(*id),
                                label: prefix,
                            },
                            json!({ "name": name }),
                        )
                        .await?;
                    }
                }
                if revoked > 0 {
                    epoch::bump(conn).await?;
                }
                Ok::<_, AppError>(revoked)
            })
        })
        .await
}
