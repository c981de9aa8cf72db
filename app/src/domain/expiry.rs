//! Token lifetimes: the choices offered, custom dates, the organisation maximum, and the grace
//! window of a rotation. Times are Unix seconds (UTC) everywhere in Keyward.

use super::limits::{DAY_SECS, MAX_LIFETIME_DAYS};
use super::FieldError;

/// The expiry menu: the form value and its label. "30" is the default, as with crates.io.
pub const EXPIRY_CHOICES: [(&str, &str); 7] = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("custom", "Custom date…"),
    ("never", "Never"),
];
pub const DEFAULT_EXPIRY_CHOICE: &str = "30";

/// Works out when a new token expires from the form's `expires_in` choice and, for "custom",
/// its `expires_on` date (YYYY-MM-DD, valid through the end of that day, UTC).
/// `org_max_days` is the Admins' optional maximum lifetime: it forbids "never" and anything
/// longer.
pub fn resolve_expiry(
    choice: &str,
    custom_date: &str,
    now: i64,
    org_max_days: Option<i64>,
) -> Result<Option<i64>, FieldError> {
    let choice = choice.trim();
    let expires_at = match choice {
        "" => now + DEFAULT_EXPIRY_CHOICE.parse::<i64>().unwrap_or(30) * DAY_SECS,
        "never" => {
            if let Some(max) = org_max_days {
                return Err(FieldError::new(
                    "expires_in",
                    format!("Your organisation requires every token to expire within {max} days; pick an expiry."),
                ));
            }
            return Ok(None);
        }
        "custom" => {
            let date = parse_date(custom_date)?;
            let end_of_day = date
                .next_day()
                .map(|d| d.midnight().assume_utc().unix_timestamp())
                .ok_or_else(|| {
                    FieldError::new("expires_on", "Pick a date before the year 9999.")
                })?;
            if end_of_day <= now {
                return Err(FieldError::new(
                    "expires_on",
                    "The expiry date is in the past; pick today or a later date.",
                ));
            }
            end_of_day
        }
        days => {
            let days: i64 = days
                .parse()
                .ok()
                .filter(|d| EXPIRY_CHOICES.iter().any(|(v, _)| *v == days) && *d > 0)
                .ok_or_else(|| FieldError::new("expires_in", "Choose an expiry from the list."))?;
            now + days * DAY_SECS
        }
    };
    check_lifetime(now, expires_at, org_max_days, "expires_in")?;
    Ok(Some(expires_at))
}

/// For the command line: `never`, or a number of days such as `30d` (or just `30`).
pub fn resolve_expires_in(
    text: &str,
    now: i64,
    org_max_days: Option<i64>,
) -> Result<Option<i64>, FieldError> {
    let text = text.trim();
    if text == "never" {
        return resolve_expiry("never", "", now, org_max_days);
    }
    let digits = text.strip_suffix('d').unwrap_or(text);
    let days: i64 = digits.parse().ok().filter(|d| *d > 0).ok_or_else(|| {
        FieldError::new(
            "expires_in",
            format!("“{text}” is not an expiry: use a number of days such as 30d, or never."),
        )
    })?;
    let max_days = org_max_days
        .unwrap_or(MAX_LIFETIME_DAYS)
        .min(MAX_LIFETIME_DAYS);
    if days > max_days {
        return Err(lifetime_error(org_max_days, max_days, "expires_in"));
    }
    Ok(Some(now + days * DAY_SECS))
}

fn check_lifetime(
    now: i64,
    expires_at: i64,
    org_max_days: Option<i64>,
    field: &'static str,
) -> Result<(), FieldError> {
    let max_days = org_max_days
        .unwrap_or(MAX_LIFETIME_DAYS)
        .min(MAX_LIFETIME_DAYS);
    // One day of slack so that "custom date N days from today" (valid through the end of that
    // day) is accepted when the maximum is N days.
    if expires_at > now + (max_days + 1) * DAY_SECS {
        return Err(lifetime_error(org_max_days, max_days, field));
    }
    Ok(())
}

fn lifetime_error(org_max_days: Option<i64>, max_days: i64, field: &'static str) -> FieldError {
    let who = if org_max_days.is_some() {
        "Your organisation allows"
    } else {
        "Keyward allows"
    };
    FieldError::new(
        field,
        format!("{who} token lifetimes of at most {max_days} days; pick an earlier expiry."),
    )
}

pub fn parse_date(text: &str) -> Result<time::Date, FieldError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new("expires_on", "Pick an expiry date."));
    }
    time::Date::parse(text, &format)
        .map_err(|_| FieldError::new("expires_on", "Enter the date as YYYY-MM-DD."))
}

/// How long the old secret keeps working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    None,
    OneHour,
    OneDay,
}

impl Grace {
    pub const CHOICES: [(&'static str, &'static str); 3] = [
        ("none", "No grace: the old secret stops now"),
        ("1h", "1 hour"),
        ("24h", "24 hours"),
    ];

    pub fn parse(value: &str) -> Result<Grace, FieldError> {
        match value.trim() {
            "" | "none" => Ok(Grace::None),
            "1h" => Ok(Grace::OneHour),
            "24h" => Ok(Grace::OneDay),
            _ => Err(FieldError::new(
                "grace",
                "Choose how long the old secret keeps working: none, 1 hour or 24 hours.",
            )),
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Grace::None => 0,
            Grace::OneHour => 3600,
            Grace::OneDay => DAY_SECS,
        }
    }
}

/// Sliding expiry: the token stays valid this many days after its last use. Only a number of
/// days makes sense (from the menu, or `30d` on the command line); "never" and custom dates
/// do not slide.
pub fn sliding_days(expires_in: &str) -> Result<i64, FieldError> {
    let text = expires_in.trim();
    let digits = text.strip_suffix('d').unwrap_or(text);
    match digits.parse::<i64>() {
        Ok(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => Ok(days),
        _ => Err(FieldError::new(
            "sliding",
            "A sliding expiry needs a number of days (7, 30, 60, 90 or 365), not “never” or a date.",
        )),
    }
}

/// The longest any token may live, in days: the organisation maximum, or the product's.
pub fn lifetime_cap_days(org_max_days: Option<i64>) -> i64 {
    org_max_days
        .unwrap_or(MAX_LIFETIME_DAYS)
        .clamp(1, MAX_LIFETIME_DAYS)
}

/// A sliding token's expiry after a use at `used_at`: N days later, but never past the
/// maximum lifetime counted from its creation (or a busy token would live for ever). The
/// usage writer applies the same rule in SQL (`verifier/usage.rs`).
pub fn slide(used_at: i64, sliding_days: i64, created_at: i64, org_max_days: Option<i64>) -> i64 {
    (used_at + sliding_days * DAY_SECS).min(created_at + lifetime_cap_days(org_max_days) * DAY_SECS)
}

/// Validates the Admin setting "maximum token lifetime" (empty means no maximum).
pub fn parse_max_lifetime(text: &str) -> Result<Option<i64>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(FieldError::new(
            "max_token_lifetime_days",
            format!("Enter a whole number of days between 1 and {MAX_LIFETIME_DAYS}, or leave it empty for no maximum."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000; // 2027-01-15T08:00:00Z

    #[test]
    fn fixed_choices_count_days_from_now() {
        assert_eq!(
            resolve_expiry("7", "", NOW, None).unwrap(),
            Some(NOW + 7 * DAY_SECS)
        );
        assert_eq!(
            resolve_expiry("", "", NOW, None).unwrap(),
            Some(NOW + 30 * DAY_SECS)
        );
        assert_eq!(resolve_expiry("never", "", NOW, None).unwrap(), None);
        assert_eq!(
            resolve_expiry("8", "", NOW, None).unwrap_err().field,
            "expires_in"
        );
        assert!(resolve_expiry("-7", "", NOW, None).is_err());
    }

    #[test]
    fn custom_dates_last_through_the_end_of_the_day() {
        let at = resolve_expiry("custom", "2027-01-20", NOW, None)
            .unwrap()
            .unwrap();
        assert_eq!(at, 1_800_489_600); // 2027-01-21T00:00:00Z
        assert_eq!(
            resolve_expiry("custom", "2027-01-14", NOW, None)
                .unwrap_err()
                .field,
            "expires_on"
        );
        assert!(resolve_expiry("custom", "20/01/2027", NOW, None).is_err());
        assert!(resolve_expiry("custom", "", NOW, None).is_err());
        // today is still allowed: it lasts until midnight
        assert!(resolve_expiry("custom", "2027-01-15", NOW, None).is_ok());
    }

    #[test]
    fn organisation_maximum_forbids_never_and_longer_lifetimes() {
        assert!(resolve_expiry("never", "", NOW, Some(90)).is_err());
        assert!(resolve_expiry("365", "", NOW, Some(90))
            .unwrap_err()
            .message
            .contains("90 days"));
        assert!(resolve_expiry("90", "", NOW, Some(90)).is_ok());
        assert!(resolve_expiry("custom", "2027-04-15", NOW, Some(90)).is_ok());
        assert!(resolve_expiry("custom", "2027-04-20", NOW, Some(90)).is_err());
        assert!(resolve_expiry("custom", "2099-01-01", NOW, None).is_err());
    }

    #[test]
    fn command_line_expiry() {
        assert_eq!(
            resolve_expires_in("30d", NOW, None).unwrap(),
            Some(NOW + 30 * DAY_SECS)
        );
        assert_eq!(
            resolve_expires_in("12", NOW, None).unwrap(),
            Some(NOW + 12 * DAY_SECS)
        );
        assert_eq!(resolve_expires_in("never", NOW, None).unwrap(), None);
        assert!(resolve_expires_in("0d", NOW, None).is_err());
        assert!(resolve_expires_in("soon", NOW, None).is_err());
        assert!(resolve_expires_in("99999999999999d", NOW, None).is_err());
        assert!(resolve_expires_in("100d", NOW, Some(90)).is_err());
    }

    #[test]
    fn sliding_expiry_needs_days() {
        assert_eq!(sliding_days("30").unwrap(), 30);
        assert_eq!(sliding_days("90d").unwrap(), 90);
        assert_eq!(sliding_days("never").unwrap_err().field, "sliding");
        assert!(sliding_days("custom").is_err());
        assert!(sliding_days("0").is_err());
    }

    #[test]
    fn grace_and_max_lifetime_parse() {
        assert_eq!(Grace::parse("none").unwrap().seconds(), 0);
        assert_eq!(Grace::parse("1h").unwrap().seconds(), 3600);
        assert_eq!(Grace::parse("24h").unwrap().seconds(), DAY_SECS);
        assert!(Grace::parse("2h").is_err());
        assert_eq!(parse_max_lifetime("").unwrap(), None);
        assert_eq!(parse_max_lifetime("90").unwrap(), Some(90));
        assert!(parse_max_lifetime("0").is_err());
        assert!(parse_max_lifetime("abc").is_err());
    }

    #[test]
    fn sliding_never_passes_the_maximum_lifetime() {
        let created = 1_000_000;
        // Early on: N days after the use.
        assert_eq!(
            slide(created + DAY_SECS, 30, created, Some(90)),
            created + 31 * DAY_SECS
        );
        // Near the end of the organisation's maximum: capped at creation + maximum.
        assert_eq!(
            slide(created + 80 * DAY_SECS, 30, created, Some(90)),
            created + 90 * DAY_SECS
        );
        // No organisation maximum: the product's bound still applies.
        assert_eq!(
            slide(created + 3640 * DAY_SECS, 30, created, None),
            created + MAX_LIFETIME_DAYS * DAY_SECS
        );
        assert_eq!(lifetime_cap_days(Some(20_000)), MAX_LIFETIME_DAYS);
    }
}
