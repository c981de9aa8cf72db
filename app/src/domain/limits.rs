//! The numbers the product promises, in one place.

pub const NAME_MIN_CHARS: usize = 3;
pub const NAME_MAX_CHARS: usize = 64;
pub const DESCRIPTION_MAX_CHARS: usize = 500;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// Live tokens (not revoked, not expired) one owner may hold. Expired and revoked tokens do
/// not count, so a cleanup is never needed to make room.
pub const MAX_LIVE_TOKENS_PER_OWNER: i64 = 20;

/// "Expires in N days" is shown below this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 7;

/// Upper bound of any token lifetime, custom dates included, and of the organisation maximum.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// Login throttling (see `domain::throttle`): this many failures for one account from one
/// address within the window stop that address until the window has passed.
pub const LOGIN_MAX_FAILURES: i64 = 5;
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;
/// Failures from one address over all accounts within `LOGIN_WINDOW_SECS`.
pub const LOGIN_MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// From this many failures on one account (any address) within an hour, attempts on it are
/// spaced out, at most `LOGIN_MAX_SPACING_SECS` apart.
pub const LOGIN_ACCOUNT_SLOWDOWN_FROM: i64 = 20;
pub const LOGIN_ACCOUNT_WINDOW_SECS: i64 = 3600;
pub const LOGIN_MAX_SPACING_SECS: i64 = 60;

/// One-time links.
pub const SETUP_CODE_TTL_SECS: i64 = 24 * 3600;
pub const SET_PASSWORD_LINK_TTL_SECS: i64 = 72 * 3600;

/// Rate limit applied to tokens that have none of their own, until an Admin changes it.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i64 = 600;
pub const MAX_CIDRS_PER_TOKEN: usize = 32;
/// An allowlist longer than this cannot be 32 ranges (an IPv6 range is at most 43 characters).
pub const MAX_ALLOWLIST_CHARS: usize = 2048;

pub const DAY_SECS: i64 = 86_400;
