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

/// Login throttling: this many failures for one account or one IP address within the window
/// lock further attempts until the window has passed.
pub const LOGIN_MAX_FAILURES: i64 = 5;
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;

/// One-time links.
pub const SETUP_CODE_TTL_SECS: i64 = 24 * 3600;
pub const SET_PASSWORD_LINK_TTL_SECS: i64 = 72 * 3600;

/// Rate limit applied to tokens that have none of their own, until an Admin changes it.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i64 = 600;
pub const MAX_CIDRS_PER_TOKEN: usize = 32;

pub const DAY_SECS: i64 = 86_400;
