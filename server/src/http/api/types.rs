//! The API's JSON shapes (documented in the OpenAPI document).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::model::{ServiceAccountView, TokenView};

/// Every error: a stable machine-readable `code`, a human `message`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// invalid_token, expired, revoked, owner_disabled, ip_not_allowed, rate_limited,
    /// unauthenticated, session_required, forbidden, not_found, invalid, bad_request …
    pub code: String,
    pub message: String,
    /// The input field at fault, for `invalid` and `conflict`.
    pub field: Option<String>,
    /// Seconds to wait, for `rate_limited` (also in the Retry-After header).
    pub retry_after_secs: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Owner {
    /// `service_account` or `user`
    pub kind: String,
    pub id: i64,
    /// Service account name, or the user's e-mail address.
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, as shown in the console.
    pub prefix: String,
    /// `service_account` or `personal`
    pub kind: String,
    pub created_at: i64,
    /// Unix seconds; null: never expires.
    pub expires_at: Option<i64>,
    /// Set when the expiry slides: valid this many days after the last use.
    pub sliding_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub token: TokenInfo,
    pub owner: Owner,
    /// The role the token acts with: its owner's current role.
    pub role: String,
}

/// RFC 7662 introspection request (form-encoded or JSON).
#[derive(Deserialize, ToSchema)]
pub struct IntrospectionRequest {
    /// The token to check.
    pub token: String,
    /// Ignored (there is one kind of token).
    pub token_type_hint: Option<String>,
    /// Where the checked token was presented from. Tokens with an IP allowlist are active
    /// only when this address is inside it (and inactive when it is missing).
    pub client_ip: Option<String>,
}

/// RFC 7662 introspection response. For an inactive token, only `active: false`.
#[derive(Serialize, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        IntrospectionResponse {
            active: false,
            sub: None,
            username: None,
            kind: None,
            role: None,
            scope: None,
            exp: None,
            iat: None,
            token_id: None,
            token_name: None,
            token_type: None,
            iss: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceAccount {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub role: String,
    pub disabled: bool,
    pub can_introspect: bool,
    pub created_at: i64,
    pub created_by: String,
    pub live_tokens: i64,
    pub last_used_at: Option<i64>,
}

impl From<ServiceAccountView> for ServiceAccount {
    fn from(a: ServiceAccountView) -> Self {
        ServiceAccount {
            id: a.id,
            name: a.name,
            description: a.description,
            role: a.role.as_str().into(),
            disabled: a.disabled_at.is_some(),
            can_introspect: a.can_introspect,
            created_at: a.created_at,
            created_by: a.created_by,
            live_tokens: a.live_tokens,
            last_used_at: a.last_used_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceAccountPage {
    pub items: Vec<ServiceAccount>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Token metadata: never the secret.
#[derive(Serialize, ToSchema)]
pub struct TokenMetadata {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub prefix: String,
    pub kind: String,
    /// active, expiring_soon, expired, revoked, owner_disabled
    pub status: String,
    pub role: String,
    pub owner: Owner,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub sliding_days: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
    /// CIDR ranges, one per line; empty: any address.
    pub allowed_cidrs: String,
    pub rate_limit_per_minute: Option<i64>,
}

impl From<TokenView> for TokenMetadata {
    fn from(t: TokenView) -> Self {
        TokenMetadata {
            id: t.id,
            name: t.name,
            description: t.description,
            prefix: t.display_prefix,
            kind: t.kind.as_str().into(),
            status: t.status.as_str().into(),
            role: t.role.as_str().into(),
            owner: Owner {
                kind: match t.owner.kind {
                    app::domain::token_format::TokenKind::ServiceAccount => {
                        "service_account".into()
                    }
                    app::domain::token_format::TokenKind::Personal => "user".into(),
                },
                id: t.owner.id,
                name: t.owner.name,
            },
            created_at: t.created_at,
            created_by: t.created_by,
            expires_at: t.expires_at,
            sliding_days: t.sliding_days,
            last_used_at: t.last_used_at,
            last_used_ip: t.last_used_ip,
            revoked_at: t.revoked_at,
            revoke_reason: t.revoke_reason.map(|r| r.as_str().to_string()),
            allowed_cidrs: t.allowed_cidrs,
            rate_limit_per_minute: t.rate_limit_per_minute,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceAccountDetail {
    pub account: ServiceAccount,
    pub tokens: Vec<TokenMetadata>,
}

/// Up to 100 leaked token strings.
#[derive(Deserialize, ToSchema)]
pub struct LeakReport {
    pub tokens: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeakReceipt {
    /// How many strings were received (not how many were valid: that is never revealed).
    pub received: usize,
    pub message: String,
}
