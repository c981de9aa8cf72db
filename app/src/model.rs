//! What server functions return: plain data shared by the server and the browser. Times are
//! Unix seconds (UTC). Secrets only ever travel inside `Sensitive`.

use serde::{Deserialize, Serialize};

use crate::domain::token_format::TokenKind;
use crate::domain::{Role, Sensitive};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn label(&self) -> &str {
        if self.display_name.is_empty() {
            &self.email
        } else {
            &self.display_name
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Created, has not set a password through the one-time link yet.
    Invited,
    Active,
    Deactivated,
}

impl UserStatus {
    pub fn label(self) -> &'static str {
        match self {
            UserStatus::Invited => "Invited",
            UserStatus::Active => "Active",
            UserStatus::Deactivated => "Deactivated",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub live_tokens: i64,
    /// Whether they sign in with an authenticator app as a second factor.
    pub second_factor: bool,
}

/// A one-time set-password link, shown once to the Admin who created or reset it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteLink {
    pub user: UserView,
    pub link: Sensitive,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub role: Role,
    pub can_introspect: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
    pub live_tokens: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    ExpiringSoon,
    Expired,
    Revoked,
    OwnerDisabled,
}

impl TokenStatus {
    pub const ALL: [TokenStatus; 5] = [
        TokenStatus::Active,
        TokenStatus::ExpiringSoon,
        TokenStatus::Expired,
        TokenStatus::Revoked,
        TokenStatus::OwnerDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::ExpiringSoon => "expiring_soon",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
            TokenStatus::OwnerDisabled => "owner_disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenStatus::Active => "Active",
            TokenStatus::ExpiringSoon => "Expiring soon",
            TokenStatus::Expired => "Expired",
            TokenStatus::Revoked => "Revoked",
            TokenStatus::OwnerDisabled => "Owner disabled",
        }
    }

    /// Whether the token would authenticate right now.
    pub fn is_usable(self) -> bool {
        matches!(self, TokenStatus::Active | TokenStatus::ExpiringSoon)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    Manual,
    Leaked,
    OwnerDeleted,
    OwnerRemoved,
    Bulk,
    Policy,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Manual => "manual",
            RevokeReason::Leaked => "leaked",
            RevokeReason::OwnerDeleted => "owner_deleted",
            RevokeReason::OwnerRemoved => "owner_removed",
            RevokeReason::Bulk => "bulk",
            RevokeReason::Policy => "policy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RevokeReason::Manual,
            RevokeReason::Leaked,
            RevokeReason::OwnerDeleted,
            RevokeReason::OwnerRemoved,
            RevokeReason::Bulk,
            RevokeReason::Policy,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RevokeReason::Manual => "revoked",
            RevokeReason::Leaked => "revoked: reported as leaked",
            RevokeReason::OwnerDeleted => "revoked: service account deleted",
            RevokeReason::OwnerRemoved => "revoked: user removed",
            RevokeReason::Bulk => "revoked in bulk",
            RevokeReason::Policy => "revoked: unused (stale-token policy)",
        }
    }

    /// Leaked tokens and tokens of deleted owners stay dead for good.
    pub fn restorable(self) -> bool {
        matches!(
            self,
            RevokeReason::Manual | RevokeReason::Bulk | RevokeReason::Policy
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRef {
    pub kind: TokenKind,
    pub id: i64,
    pub name: String,
    /// Deleted service account or removed user.
    pub gone: bool,
}

impl OwnerRef {
    pub fn href(&self) -> String {
        match self.kind {
            TokenKind::ServiceAccount => format!("/service-accounts/{}", self.id),
            TokenKind::Personal => format!("/team#user-{}", self.id),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub public_id: String,
    pub kind: TokenKind,
    pub name: String,
    pub description: String,
    pub display_prefix: String,
    pub owner: OwnerRef,
    /// The role the token acts with: its owner's current role.
    pub role: Role,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub sliding_days: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<RevokeReason>,
    pub rotated_at: Option<i64>,
    pub previous_secret_expires_at: Option<i64>,
    pub allowed_cidrs: String,
    pub rate_limit_per_minute: Option<i64>,
    pub status: TokenStatus,
}

impl TokenView {
    pub fn restorable(&self) -> bool {
        self.revoke_reason.is_some_and(RevokeReason::restorable)
    }

    pub fn deletable(&self) -> bool {
        matches!(self.status, TokenStatus::Revoked | TokenStatus::Expired)
    }
}

/// The answer to "create token" and "rotate token": the one and only time the secret leaves
/// the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSecret {
    pub token: TokenView,
    pub secret: Sensitive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub id: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub target: String,
    pub ip: Option<String>,
    pub details: String,
    /// The request that wrote it (`X-Request-Id`, on its log lines too); None for the
    /// command line and background work.
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub max_token_lifetime_days: Option<i64>,
    pub default_rate_limit_per_minute: i64,
    /// The stale-token policy: revoke tokens unused for this many days (None: off).
    pub stale_token_days: Option<i64>,
}

/// What the stale-token policy would do with `days`, as of now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StalePreview {
    pub days: i64,
    /// Tokens warned today and revoked on `revokes_on` unless used before: unused for
    /// `days - 7` days or more.
    pub count: i64,
    /// Of those, the ones unused for the full `days` already.
    pub unused_full_period: i64,
    /// The first of them, longest unused first.
    pub tokens: Vec<StaleToken>,
    pub revokes_on: i64,
    /// The server's time the preview was made at (the page's relative times use it).
    pub now: i64,
    /// Enabled webhook endpoints that receive the warnings (`token.expiring`).
    pub warning_endpoints: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleToken {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

/// What the login page needs to know before anyone is signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupState {
    pub needs_setup: bool,
    pub code_valid: bool,
}

/// One page of the organisation-wide token table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTablePage {
    pub items: Vec<TokenView>,
    /// Matches, counted up to `COUNT_CAP`; `capped` says the real number is larger.
    pub total: i64,
    pub capped: bool,
    pub page: i64,
    pub per_page: i64,
}

impl TokenTablePage {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSearchView {
    pub id: i64,
    pub name: String,
    /// The table's query string.
    pub query: String,
    pub shared: bool,
    pub owner: String,
    pub mine: bool,
}

/// One client address a token was used from (the latest few are kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientIpView {
    pub ip: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub user_agent: Option<String>,
}

/// Everything the token page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDetail {
    pub token: TokenView,
    /// Requests per UTC day over the chart's window, ending today.
    pub usage: crate::domain::usage::DailySeries,
    /// The latest distinct client addresses, last seen first.
    pub client_ips: Vec<ClientIpView>,
    /// The token's audit records, newest first; None for a caller who cannot read the audit log.
    pub audit: Option<Vec<AuditEventView>>,
    /// When the stale-token policy revokes this token unless it is used before (it was warned).
    pub stale_revokes_at: Option<i64>,
}

/// A personal token of the signed-in user that expires soon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringToken {
    pub id: i64,
    pub name: String,
    pub expires_at: i64,
}

/// A webhook endpoint as the Settings → Webhooks page and `keyward webhook list` show it
/// (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointView {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// `whsec_` and the secret's first characters, to tell secrets apart.
    pub secret_hint: String,
    pub enabled: bool,
    pub created_at: i64,
    pub created_by: String,
    /// Since when every attempt failed.
    pub failing_since: Option<i64>,
}

/// A new endpoint with its signing secret (shown once).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WebhookCreated {
    pub endpoint: WebhookEndpointView,
    pub secret: crate::domain::Sensitive,
}

/// One delivery attempt (the status code, or the class of failure; never the response body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryView {
    pub id: i64,
    pub outbox_id: i64,
    pub at: i64,
    pub event_type: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub next_retry_at: Option<i64>,
    /// Where the event stands now, whatever this attempt did.
    pub event_state: EventState,
}

/// Where a webhook event stands: what decides whether "Redeliver" is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    Delivered,
    /// Waiting for its next attempt (or being attempted).
    Retrying,
    GaveUp,
}

impl EventState {
    pub fn label(self) -> &'static str {
        match self {
            EventState::Delivered => "delivered",
            EventState::Retrying => "retrying",
            EventState::GaveUp => "gave up",
        }
    }
}

/// Where a person's authenticator app stands, for their account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TotpState {
    Off,
    /// Enrolment started: the secret is shown (as a QR code and as text) until the first code
    /// confirms it, or until `expires_at`.
    Pending {
        account: String,
        secret: Sensitive,
        uri: Sensitive,
        qr_svg: Sensitive,
        expires_at: i64,
    },
    On {
        since: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorOverview {
    pub totp: TotpState,
    pub recovery_codes_left: i64,
}

/// Fresh recovery codes, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<Sensitive>,
}

/// A sign-in waiting for its second factor: whose, for the page's greeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub email: String,
}
