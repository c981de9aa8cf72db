use serde::{Deserialize, Serialize};

use super::FieldError;

/// The four roles, in increasing order of power. The derived `Ord` *is* the hierarchy:
/// `Viewer < Deployment < PowerUser < Admin`, and every "up to my own role" check relies on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Deployment,
    PowerUser,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Deployment, Role::PowerUser, Role::Admin];

    /// The stable name stored in the database and used in forms and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployment => "deployment",
            Role::PowerUser => "power_user",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Deployment => "Deployment",
            Role::PowerUser => "Power User",
            Role::Admin => "Admin",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "Reads service accounts; manages only their own personal tokens.",
            Role::Deployment => "Like Viewer; meant for deployment automation.",
            Role::PowerUser => "Creates and manages service accounts and their tokens.",
            Role::Admin => "Manages everything: team, roles, every token, settings, audit log.",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value.trim())
    }

    /// Parses a role submitted in a form field, with a message naming the field at fault.
    pub fn parse_field(field: &'static str, value: &str) -> Result<Role, FieldError> {
        Role::parse(value).ok_or_else(|| {
            FieldError::new(
                field,
                "Choose one of the roles: Viewer, Deployment, Power User or Admin.",
            )
        })
    }

    /// Roles a caller with this role may hand out: their own or lower.
    pub fn assignable(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| *r <= self)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Viewer < Role::Deployment);
        assert!(Role::Deployment < Role::PowerUser);
        assert!(Role::PowerUser < Role::Admin);
    }

    #[test]
    fn parse_round_trips_every_role_and_rejects_others() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse(""), None);
        assert_eq!(Role::parse_field("role", "x").unwrap_err().field, "role");
    }

    #[test]
    fn assignable_roles_stop_at_the_callers_own() {
        let power: Vec<_> = Role::PowerUser.assignable().collect();
        assert_eq!(power, vec![Role::Viewer, Role::Deployment, Role::PowerUser]);
        assert_eq!(
            Role::Viewer.assignable().collect::<Vec<_>>(),
            vec![Role::Viewer]
        );
        assert_eq!(Role::Admin.assignable().count(), 4);
    }
}
