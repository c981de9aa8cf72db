//! Audit log actions: stable strings used in filters and by automation reading the log. A
//! leaf module, so that whoever writes an event (the verifier's usage writer, the services)
//! can name its action without depending on the audit service.

pub const LOGIN: &str = "auth.login";
pub const LOGIN_FAILED: &str = "auth.login_failed";
pub const LOGOUT: &str = "auth.logout";
pub const SETUP: &str = "auth.setup";
pub const PASSWORD_SET: &str = "auth.password_set";
pub const USER_INVITE: &str = "user.invite";
pub const USER_LINK: &str = "user.link_reset";
pub const USER_ROLE: &str = "user.role_change";
pub const USER_DEACTIVATE: &str = "user.deactivate";
pub const USER_REACTIVATE: &str = "user.reactivate";
pub const USER_REMOVE: &str = "user.remove";
pub const USER_UNLOCK: &str = "user.unlock";
pub const TOTP_ENABLE: &str = "user.totp_enable";
pub const TOTP_DISABLE: &str = "user.totp_disable";
pub const RECOVERY_CODES_NEW: &str = "user.recovery_codes_regenerate";
pub const SECOND_FACTOR_RESET: &str = "user.second_factor_reset";
pub const SA_CREATE: &str = "service_account.create";
pub const SA_UPDATE: &str = "service_account.update";
pub const SA_DISABLE: &str = "service_account.disable";
pub const SA_ENABLE: &str = "service_account.enable";
pub const SA_DELETE: &str = "service_account.delete";
pub const TOKEN_CREATE: &str = "token.create";
pub const TOKEN_UPDATE: &str = "token.update";
pub const TOKEN_ROTATE: &str = "token.rotate";
pub const TOKEN_REVOKE: &str = "token.revoke";
pub const TOKEN_RESTORE: &str = "token.restore";
pub const TOKEN_DELETE: &str = "token.delete";
pub const TOKEN_BULK_REVOKE: &str = "token.bulk_revoke";
pub const TOKEN_LEAK_REPORT: &str = "token.leak_reported";
pub const TOKEN_API_USE: &str = "token.api_use";
pub const SETTINGS_UPDATE: &str = "settings.update";
pub const WEBHOOK_CREATE: &str = "webhook.create";
pub const WEBHOOK_UPDATE: &str = "webhook.update";
pub const WEBHOOK_DELETE: &str = "webhook.delete";

pub const ALL: &[&str] = &[
    LOGIN,
    LOGIN_FAILED,
    LOGOUT,
    SETUP,
    PASSWORD_SET,
    USER_INVITE,
    USER_LINK,
    USER_ROLE,
    USER_DEACTIVATE,
    USER_REACTIVATE,
    USER_REMOVE,
    USER_UNLOCK,
    TOTP_ENABLE,
    TOTP_DISABLE,
    RECOVERY_CODES_NEW,
    SECOND_FACTOR_RESET,
    SA_CREATE,
    SA_UPDATE,
    SA_DISABLE,
    SA_ENABLE,
    SA_DELETE,
    TOKEN_CREATE,
    TOKEN_UPDATE,
    TOKEN_ROTATE,
    TOKEN_REVOKE,
    TOKEN_RESTORE,
    TOKEN_DELETE,
    TOKEN_BULK_REVOKE,
    TOKEN_LEAK_REPORT,
    TOKEN_API_USE,
    SETTINGS_UPDATE,
    WEBHOOK_CREATE,
    WEBHOOK_UPDATE,
    WEBHOOK_DELETE,
];
