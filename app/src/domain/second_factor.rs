//! Second factors (issue 15): the rules for authenticator-app codes (TOTP, RFC 6238) and
//! recovery codes that do not need the database or the key.
//!
//! Decisions, written down here because they are rules, not code paths:
//! - Codes are the common authenticator-app profile: SHA-1, 6 digits, 30-second steps (the
//!   algorithm every app supports; some apps silently fall back to SHA-1 when asked for
//!   another, and then never match). One step of clock skew either way is accepted.
//! - A code is accepted only for a step later than the last accepted one, so a code (or an
//!   earlier code seen over someone's shoulder) never works twice.
//! - Recovery codes: ten, each 10 characters from an alphabet without look-alikes, shown as
//!   `abcde-fghjk`. Input is forgiving: case, spaces and dashes do not matter.

use super::FieldError;

pub const TOTP_STEP_SECS: i64 = 30;
pub const TOTP_DIGITS: usize = 6;
/// Steps accepted either side of the server's current step.
pub const TOTP_SKEW_STEPS: i64 = 1;
pub const RECOVERY_CODE_COUNT: usize = 10;
pub const RECOVERY_CODE_LEN: usize = 10;
/// No 0/o, 1/l/i: a code is copied by hand from paper.
pub const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// How long a sign-in may wait between the password and the second factor.
pub const PENDING_SIGN_IN_SECS: i64 = 5 * 60;
/// How long an unconfirmed enrolment (secret shown, first code not yet entered) stays usable.
pub const ENROLMENT_TTL_SECS: i64 = 30 * 60;

/// What a person typed into the second-factor field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorCode {
    /// Six digits from an authenticator app.
    Totp(String),
    /// A recovery code, normalised (lower case, no separators).
    Recovery(String),
}

impl SecondFactorCode {
    /// The method's name in audit records and metrics.
    pub fn method(&self) -> &'static str {
        match self {
            SecondFactorCode::Totp(_) => "totp",
            SecondFactorCode::Recovery(_) => "recovery_code",
        }
    }
}

const CODE_HELP: &str =
    "Enter the 6-digit code from your authenticator app, or one of your recovery codes.";

/// Reads the second-factor field: an app code or a recovery code, anything else is refused
/// before it costs an attempt.
pub fn parse_code(input: &str) -> Result<SecondFactorCode, FieldError> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.is_empty() {
        return Err(FieldError::new("code", CODE_HELP));
    }
    if compact.len() == TOTP_DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SecondFactorCode::Totp(compact));
    }
    let lower = compact.to_ascii_lowercase();
    if lower.len() == RECOVERY_CODE_LEN && lower.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Ok(SecondFactorCode::Recovery(lower));
    }
    if compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            "code",
            format!("An authenticator code has {TOTP_DIGITS} digits."),
        ));
    }
    Err(FieldError::new("code", CODE_HELP))
}

/// Reads the code that confirms an enrolment: app codes only.
pub fn parse_app_code(input: &str) -> Result<String, FieldError> {
    match parse_code(input) {
        Ok(SecondFactorCode::Totp(code)) => Ok(code),
        _ => Err(FieldError::new(
            "code",
            format!("Enter the {TOTP_DIGITS}-digit code your authenticator app shows now."),
        )),
    }
}

/// The 30-second step a Unix time falls in.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(TOTP_STEP_SECS)
}

/// The steps whose codes are accepted at `now`, oldest first: the current one and one either
/// side, minus any step at or before the last accepted one.
pub fn candidate_steps(now: i64, last_step: Option<i64>) -> Vec<i64> {
    let current = step_at(now);
    (current - TOTP_SKEW_STEPS..=current + TOTP_SKEW_STEPS)
        .filter(|s| last_step.is_none_or(|last| *s > last))
        .collect()
}

/// A recovery code as shown: `abcde-fghjk`.
pub fn format_recovery_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// A base32 secret in groups of four, as authenticator apps' "enter a key" screens show it.
pub fn group_secret(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_codes_are_six_digits_with_any_spacing() {
        assert_eq!(
            parse_code("123456"),
            Ok(SecondFactorCode::Totp("123456".into()))
        );
        assert_eq!(
            parse_code(" 123 456 "),
            Ok(SecondFactorCode::Totp("123456".into()))
        );
        assert_eq!(parse_code("12345").unwrap_err().field, "code");
        assert!(parse_code("1234567")
            .unwrap_err()
            .message
            .contains("6 digits"));
    }

    #[test]
    fn recovery_codes_ignore_case_and_dashes() {
        assert_eq!(
            parse_code("ABCDE-fghjk"),
            Ok(SecondFactorCode::Recovery("abcdefghjk".into()))
        );
        // Look-alike characters are not in the alphabet, so a mistyped code is refused at once.
        assert!(parse_code("abcde-fghj0").is_err());
        assert!(parse_code("").is_err());
        assert!(parse_code("   ").is_err());
        assert!(parse_code("abc").is_err());
    }

    #[test]
    fn enrolment_wants_an_app_code() {
        assert_eq!(parse_app_code("654 321").unwrap(), "654321");
        assert!(parse_app_code("abcde-fghjk").is_err());
    }

    #[test]
    fn one_step_of_skew_either_way_and_never_a_used_step() {
        let now = 1_000_000_000; // step 33,333,333, 10 s into it
        let current = step_at(now);
        assert_eq!(current, 33_333_333);
        assert_eq!(
            candidate_steps(now, None),
            vec![current - 1, current, current + 1]
        );
        assert_eq!(
            candidate_steps(now, Some(current - 1)),
            vec![current, current + 1]
        );
        assert_eq!(candidate_steps(now, Some(current)), vec![current + 1]);
        assert!(candidate_steps(now, Some(current + 1)).is_empty());
        // Step boundaries: 29 s and 30 s fall in different steps.
        assert_eq!(step_at(29), 0);
        assert_eq!(step_at(30), 1);
    }

    #[test]
    fn codes_and_secrets_are_shown_in_groups() {
        assert_eq!(format_recovery_code("abcdefghjk"), "abcde-fghjk");
        assert_eq!(group_secret("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }

    #[test]
    fn the_recovery_alphabet_has_no_look_alikes() {
        for c in b"01ilo" {
            assert!(!RECOVERY_ALPHABET.contains(c), "{}", *c as char);
        }
    }
}
