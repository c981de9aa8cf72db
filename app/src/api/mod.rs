//! Server functions: the interface the pages, automation and the end-to-end suite call.
//! One function per file, each at a stable path `/api/fn/<area>/<verb>`; reads are GET with a
//! query string, changes are POST with a form body (so every form also works without
//! JavaScript). Errors are `AppError` as JSON, with the matching HTTP status.
//!
//! Every function starts by establishing who is calling (`backend::auth`), then hands over to
//! a service in `backend::service`, which checks permissions and does the work.

pub mod account;
pub mod audit;
pub mod auth;
pub mod service_accounts;
pub mod settings;
pub mod team;
pub mod token_table;
pub mod tokens;
pub mod webhooks;

pub const PREFIX: &str = "/api/fn";

/// Endpoints an anonymous visitor posts to: only their failures travel in the no-JS flash
/// cookie (see the server's no-JS form handling).
pub const ANONYMOUS_ENDPOINTS: &[&str] = &[
    "/api/fn/auth/login",
    "/api/fn/auth/setup",
    "/api/fn/auth/set-password",
    "/api/fn/auth/second-factor",
];

/// Endpoints whose successful answer carries a secret that is shown once: without
/// JavaScript, the server renders the answer into the page instead of redirecting (see the
/// server's no-JS form handling). Never cached, never put in a URL.
pub const ONE_TIME_ENDPOINTS: &[&str] = &[
    "/api/fn/service-accounts/tokens/create",
    "/api/fn/me/tokens/create",
    "/api/fn/tokens/rotate",
    "/api/fn/team/invite",
    "/api/fn/team/reset-link",
    "/api/fn/webhooks/create",
    "/api/fn/account/totp-confirm",
    "/api/fn/account/recovery-codes",
];
