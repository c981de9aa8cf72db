//! Who may do what. Every server function asks these questions (through the backend's auth
//! check) before touching data; the pages ask the same ones only to decide what to show.

use super::Role;

/// Team members and their roles, settings and the audit log belong to Admins.
pub fn can_manage_team(caller: Role) -> bool {
    caller == Role::Admin
}

pub fn can_manage_settings(caller: Role) -> bool {
    caller == Role::Admin
}

pub fn can_view_audit_log(caller: Role) -> bool {
    caller == Role::Admin
}

/// Everyone signed in may read the list of service accounts and their token metadata.
pub fn can_read_service_accounts(_caller: Role) -> bool {
    true
}

/// Creating service accounts, and managing one and its tokens, needs Power User or more;
/// an account whose role is above the caller's own stays out of reach, or a Power User could
/// mint a token that acts as an Admin.
pub fn can_manage_service_account(caller: Role, account_role: Role) -> bool {
    caller >= Role::PowerUser && account_role <= caller
}

pub fn can_create_service_accounts(caller: Role) -> bool {
    caller >= Role::PowerUser
}

/// A role may be assigned (to a service account, or by an Admin to a person) only up to the
/// caller's own. Power Users therefore never hand out Admin.
pub fn can_assign_role(caller: Role, role: Role) -> bool {
    caller >= Role::PowerUser && role <= caller
}

/// Restoring a revoked token re-opens a door someone deliberately closed: Admins only.
pub fn can_restore_tokens(caller: Role) -> bool {
    caller == Role::Admin
}

/// Admins manage every personal token too (revoke a leaver's token, for instance).
pub fn can_manage_others_personal_tokens(caller: Role) -> bool {
    caller == Role::Admin
}

/// A personal token's secret is its owner's alone: nobody else may obtain one (by rotating it,
/// say), Admins included. Revoking stays open to Admins, since it hands out nothing.
pub fn can_obtain_personal_token_secret(caller_user_id: Option<i64>, owner_user_id: i64) -> bool {
    caller_user_id == Some(owner_user_id)
}

/// What part of the organisation-wide token table a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTableScope {
    Everything,
    ServiceAccountTokens,
}

pub fn token_table_scope(caller: Role) -> Option<TokenTableScope> {
    match caller {
        Role::Admin => Some(TokenTableScope::Everything),
        Role::PowerUser => Some(TokenTableScope::ServiceAccountTokens),
        Role::Deployment | Role::Viewer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn only_admins_run_the_team_settings_and_audit_log() {
        for role in Role::ALL {
            let admin = role == Admin;
            assert_eq!(can_manage_team(role), admin);
            assert_eq!(can_manage_settings(role), admin);
            assert_eq!(can_view_audit_log(role), admin);
            assert_eq!(can_restore_tokens(role), admin);
            assert_eq!(can_manage_others_personal_tokens(role), admin);
        }
    }

    #[test]
    fn only_the_owner_obtains_a_personal_token_secret() {
        assert!(can_obtain_personal_token_secret(Some(7), 7));
        assert!(!can_obtain_personal_token_secret(Some(8), 7));
        assert!(!can_obtain_personal_token_secret(None, 7));
    }

    #[test]
    fn power_users_manage_accounts_up_to_their_own_role() {
        assert!(can_manage_service_account(PowerUser, Viewer));
        assert!(can_manage_service_account(PowerUser, PowerUser));
        assert!(!can_manage_service_account(PowerUser, Admin));
        assert!(can_manage_service_account(Admin, Admin));
        assert!(!can_manage_service_account(Deployment, Viewer));
        assert!(!can_manage_service_account(Viewer, Viewer));
        assert!(can_create_service_accounts(PowerUser));
        assert!(!can_create_service_accounts(Deployment));
    }

    #[test]
    fn roles_are_assigned_only_up_to_the_callers_own() {
        assert!(can_assign_role(PowerUser, PowerUser));
        assert!(!can_assign_role(PowerUser, Admin));
        assert!(can_assign_role(Admin, Admin));
        assert!(!can_assign_role(Deployment, Viewer));
    }

    #[test]
    fn token_table_scope_by_role() {
        assert_eq!(token_table_scope(Admin), Some(TokenTableScope::Everything));
        assert_eq!(
            token_table_scope(PowerUser),
            Some(TokenTableScope::ServiceAccountTokens)
        );
        assert_eq!(token_table_scope(Deployment), None);
        assert_eq!(token_table_scope(Viewer), None);
        assert!(can_read_service_accounts(Viewer));
    }
}
