//! The stale-token policy (issue 14): "revoke tokens unused for N days", off by default.
//!
//! A token's activity is its last use, or its creation when it was never used (a token made
//! yesterday is not stale). No token is revoked without warning: a token is warned once its
//! activity is `N - 7` days old (a `token.expiring` event, reason `unused`), and revoked when
//! both its activity is `N` days old and its warning is 7 days old. A token used after its
//! warning has new activity: it is not revoked, and is warned afresh if it goes stale again.
//! So when the policy is turned on, tokens that are already stale are warned first and revoked
//! 7 days later, never on the spot.

use super::FieldError;

pub const DAY: i64 = 86_400;
/// Days between the warning and the revocation.
pub const WARNING_DAYS: i64 = 7;
/// The shortest policy: a week of quiet before the warning week.
pub const MIN_DAYS: i64 = 14;
pub const MAX_DAYS: i64 = 3650;

/// The settings field: empty turns the policy off.
pub fn parse_days(text: &str) -> Result<Option<i64>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if (MIN_DAYS..=MAX_DAYS).contains(&n) => Ok(Some(n)),
        _ => Err(FieldError::new(
            "stale_token_days",
            format!(
                "Enter a whole number of days between {MIN_DAYS} and {MAX_DAYS}, or leave it empty to turn the policy off."
            ),
        )),
    }
}

/// When the token was last active (the repository's SQL says the same: `COALESCE`).
pub fn activity(created_at: i64, last_used_at: Option<i64>) -> i64 {
    last_used_at.unwrap_or(created_at)
}

/// Tokens whose activity is at or before this get their warning now.
pub fn warn_cutoff(days: i64, now: i64) -> i64 {
    now - (days - WARNING_DAYS) * DAY
}

/// Tokens whose activity is at or before this are old enough to revoke (once warned).
pub fn revoke_cutoff(days: i64, now: i64) -> i64 {
    now - days * DAY
}

/// Warnings sent at or before this are old enough for their token to be revoked.
pub fn warned_cutoff(now: i64) -> i64 {
    now - WARNING_DAYS * DAY
}

/// When a token warned at `warned_at` about `activity` is revoked, if it stays unused.
pub fn revokes_at(days: i64, activity: i64, warned_at: i64) -> i64 {
    (activity + days * DAY).max(warned_at + WARNING_DAYS * DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn days_are_checked_and_empty_turns_the_policy_off() {
        assert_eq!(parse_days(""), Ok(None));
        assert_eq!(parse_days("  "), Ok(None));
        assert_eq!(parse_days(" 90 "), Ok(Some(90)));
        assert_eq!(parse_days("14"), Ok(Some(14)));
        assert_eq!(parse_days("3650"), Ok(Some(3650)));
        for bad in ["13", "0", "-5", "3651", "ninety", "9.5", "1e3"] {
            let e = parse_days(bad).unwrap_err();
            assert_eq!(e.field, "stale_token_days", "{bad}");
            assert!(e.message.contains("between 14 and 3650"), "{bad}");
        }
    }

    #[test]
    fn activity_is_the_last_use_or_the_creation() {
        assert_eq!(activity(100, None), 100);
        assert_eq!(activity(100, Some(500)), 500);
    }

    #[test]
    fn a_token_is_warned_a_week_before_it_is_revoked() {
        let days = 90;
        let last_use = NOW - 83 * DAY;
        assert!(
            last_use <= warn_cutoff(days, NOW),
            "83 days quiet: warned now"
        );
        assert!(last_use > revoke_cutoff(days, NOW), "not yet revocable");
        assert!(
            NOW - 82 * DAY > warn_cutoff(days, NOW),
            "82 days: not yet warned"
        );
        assert_eq!(revokes_at(days, last_use, NOW), NOW + 7 * DAY);
        let later = NOW + 7 * DAY;
        assert!(last_use <= revoke_cutoff(days, later));
        assert!(NOW <= warned_cutoff(later));
        assert!(NOW > warned_cutoff(later - 1));
    }

    #[test]
    fn tokens_stale_long_ago_still_get_their_week() {
        // Unused for a year when the policy is turned on: warned now, revoked in 7 days.
        let days = 30;
        let activity = NOW - 365 * DAY;
        assert!(activity <= revoke_cutoff(days, NOW));
        assert_eq!(revokes_at(days, activity, NOW), NOW + WARNING_DAYS * DAY);
    }
}
