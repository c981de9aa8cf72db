//! Input rules for names, descriptions, e-mail addresses and passwords.

use super::limits::{
    DESCRIPTION_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, EMAIL_MAX_CHARS, NAME_MAX_CHARS, NAME_MIN_CHARS,
    PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS,
};
use super::FieldError;

/// Service account and token names: 3–64 characters of lowercase letters, digits and
/// underscores. Surrounding whitespace is forgiven (trimmed); anything else is explained.
pub fn validate_name(field: &'static str, what: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, format!("Enter a {what} name.")));
    }
    let len = name.chars().count();
    if len < NAME_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("The {what} name must be at least {NAME_MIN_CHARS} characters long."),
        ));
    }
    if len > NAME_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!(
                "The {what} name must be at most {NAME_MAX_CHARS} characters long (it has {len})."
            ),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        let hint = if bad.is_ascii_uppercase() {
            " Use lowercase letters.".to_string()
        } else if bad == '-' || bad == ' ' || bad == '.' {
            " Use an underscore instead.".to_string()
        } else {
            String::new()
        };
        return Err(FieldError::new(
            field,
            format!(
                "The {what} name may only contain lowercase letters (a–z), digits and underscores; “{bad}” is not allowed.{hint}"
            ),
        ));
    }
    Ok(name.to_string())
}

pub fn validate_service_account_name(raw: &str) -> Result<String, FieldError> {
    validate_name("name", "service account", raw)
}

pub fn validate_token_name(raw: &str) -> Result<String, FieldError> {
    validate_name("name", "token", raw)
}

/// Optional free text, at most 500 characters. Trimmed; control characters other than line
/// breaks and tabs are refused because they garble tables and logs.
pub fn validate_description(raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    let len = text.chars().count();
    if len > DESCRIPTION_MAX_CHARS {
        return Err(FieldError::new(
            "description",
            format!("The description must be at most {DESCRIPTION_MAX_CHARS} characters (it has {len})."),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            "description",
            "The description contains control characters; remove them.",
        ));
    }
    Ok(text.to_string())
}

/// E-mail addresses are compared case-insensitively, so they are stored lowercased. The check
/// is deliberately shallow (one `@`, something on both sides, a dot in the domain): the real
/// test of an address is whether its owner can sign in.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(FieldError::new("email", "Enter an e-mail address."));
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError::new(
            "email",
            format!("The e-mail address must be at most {EMAIL_MAX_CHARS} characters."),
        ));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !valid {
        return Err(FieldError::new(
            "email",
            "Enter an e-mail address like name@example.com.",
        ));
    }
    Ok(email)
}

pub fn validate_display_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(FieldError::new(
            "display_name",
            format!("The name must be at most {DISPLAY_NAME_MAX_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "display_name",
            "The name contains control characters; remove them.",
        ));
    }
    Ok(name.to_string())
}

/// Length is what makes a password strong; composition rules only annoy. The upper bound
/// keeps a single login request from costing unbounded hashing time.
pub fn validate_new_password(password: &str, confirm: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            "password",
            format!("Choose a password of at least {PASSWORD_MIN_CHARS} characters."),
        ));
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            "password",
            format!("The password must be at most {PASSWORD_MAX_CHARS} characters."),
        ));
    }
    if password != confirm {
        return Err(FieldError::new(
            "password_confirm",
            "The two passwords do not match.",
        ));
    }
    Ok(())
}

/// What the token table's search looks in: name, display prefix, owner name, description,
/// lowercased, one per line (a search string never contains a line break, so it cannot
/// match across two fields).
pub fn token_search_text(
    name: &str,
    display_prefix: &str,
    owner_name: &str,
    description: &str,
) -> String {
    format!("{name}\n{display_prefix}\n{owner_name}\n{description}").to_lowercase()
}

/// A search or filter string as typed: trimmed, control characters (which some databases
/// refuse, like NUL in PostgreSQL) dropped, at most 200 characters.
pub fn search_text(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_lowercase_digits_and_underscores() {
        assert_eq!(
            validate_service_account_name("ci_bot_2").unwrap(),
            "ci_bot_2"
        );
        assert_eq!(validate_service_account_name("  abc ").unwrap(), "abc");
        assert_eq!(validate_token_name(&"a".repeat(64)).unwrap().len(), 64);
    }

    #[test]
    fn names_reject_bad_length_and_characters_with_a_reason() {
        let too_short = validate_service_account_name("ab").unwrap_err();
        assert_eq!(too_short.field, "name");
        assert!(too_short.message.contains("at least 3"));
        assert!(validate_token_name(&"a".repeat(65))
            .unwrap_err()
            .message
            .contains("at most 64"));
        assert!(validate_service_account_name("CIBot")
            .unwrap_err()
            .message
            .contains("lowercase"));
        assert!(validate_service_account_name("ci-bot")
            .unwrap_err()
            .message
            .contains("underscore"));
        assert!(validate_service_account_name("ci bot").is_err());
        assert!(validate_service_account_name("café").is_err());
        assert!(validate_service_account_name("")
            .unwrap_err()
            .message
            .contains("Enter"));
    }

    #[test]
    fn description_is_bounded_and_clean() {
        assert_eq!(
            validate_description("  hello\nworld ").unwrap(),
            "hello\nworld"
        );
        assert!(validate_description(&"x".repeat(500)).is_ok());
        assert!(validate_description(&"é".repeat(501)).is_err());
        assert!(validate_description("bell\u{7}").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_shallowly_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.d",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn search_text_is_cleaned() {
        assert_eq!(search_text("  ci\0_bot\n "), "ci_bot");
        assert_eq!(search_text(&"x".repeat(300)).len(), 200);
    }

    #[test]
    fn passwords_need_length_and_matching_confirmation() {
        assert!(validate_new_password("correct horse", "correct horse").is_ok());
        assert_eq!(
            validate_new_password("short", "short").unwrap_err().field,
            "password"
        );
        assert_eq!(
            validate_new_password("correct horse", "correct house")
                .unwrap_err()
                .field,
            "password_confirm"
        );
        let long = "x".repeat(1025);
        assert!(validate_new_password(&long, &long).is_err());
    }
}
