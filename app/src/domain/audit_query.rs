//! The audit log's view as it travels in the URL:
//! `/audit?actor=…&action=…&target=…&from=2026-12-01&to=2026-12-03&page=2`. The page, its
//! server function and the CSV export (`/audit/export.csv?<the same query>`) all read it
//! here, so a view survives a reload, can be linked, and exports exactly what it shows.
//!
//! Dates are whole days in UTC (the times the console shows are UTC), both ends inclusive.

use super::limits::DAY_SECS;
use super::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Part of the actor's label (e-mail, account name), any case.
    pub actor: String,
    /// An action name, exact.
    pub action: String,
    /// Part of the target's label, any case.
    pub target: String,
    /// First day (`YYYY-MM-DD`), as given: the form shows it back, next to its error when it
    /// is not a date.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    pub page: i64,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            actor: String::new(),
            action: String::new(),
            target: String::new(),
            from: String::new(),
            to: String::new(),
            page: 1,
        }
    }
}

/// Times from the date range, Unix seconds: `from <= at < before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<i64>,
    pub before: Option<i64>,
}

fn day_start(date: time::Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp()
}

fn parse_day(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

impl AuditQuery {
    /// Reads a view from query pairs; unknown keys are ignored. Text is trimmed and stripped of
    /// control characters; dates are kept as given and checked by `time_range`.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = AuditQuery::default();
        for (key, value) in pairs {
            let text = super::names::search_text(value);
            match key {
                "actor" => q.actor = text,
                "action" => q.action = text,
                "target" => q.target = text,
                // A date is at most 10 characters; anything longer is not one, and is not
                // worth showing back at length.
                "from" => q.from = text.chars().take(32).collect(),
                "to" => q.to = text.chars().take(32).collect(),
                "page" => q.page = value.trim().parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                _ => {}
            }
        }
        q
    }

    /// Parses a raw query string (`a=1&b=2`, with or without the leading `?`).
    pub fn from_query_string(qs: &str) -> Self {
        let pairs = super::token_query::url_decode_pairs(qs.trim_start_matches('?'));
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The query string of this view, empty values (and page 1) left out.
    pub fn to_query_string(&self) -> String {
        let page = self.page.to_string();
        let pairs = [
            ("actor", self.actor.as_str()),
            ("action", self.action.as_str()),
            ("target", self.target.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("page", if self.page > 1 { page.as_str() } else { "" }),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty());
        super::token_query::url_encode_pairs(pairs)
    }

    /// The same view from its first page (the export, and links that change a filter).
    pub fn without_page(&self) -> AuditQuery {
        AuditQuery {
            page: 1,
            ..self.clone()
        }
    }

    /// The date range as times, or what is wrong with each date (by field, `from`/`to`).
    pub fn time_range(&self) -> Result<TimeRange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let from = match self.from.as_str() {
            "" => None,
            text => parse_day(text).or_else(|| {
                errors.push(FieldError::new(
                    "from",
                    "Enter the first day as YYYY-MM-DD, e.g. 2026-12-01.",
                ));
                None
            }),
        };
        let to = match self.to.as_str() {
            "" => None,
            text => parse_day(text).or_else(|| {
                errors.push(FieldError::new(
                    "to",
                    "Enter the last day as YYYY-MM-DD, e.g. 2026-12-31.",
                ));
                None
            }),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push(FieldError::new(
                    "to",
                    "The last day is before the first day.",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TimeRange {
            from: from.map(day_start),
            before: to.map(|t| day_start(t) + DAY_SECS),
        })
    }

    /// The view without the dates `time_range` rejects: the page lists by the rest and shows
    /// the error next to the field, so a mistyped date changes nothing.
    pub fn without_bad_dates(&self) -> AuditQuery {
        let errors = self.time_range().err().unwrap_or_default();
        let bad = |field: &str| errors.iter().any(|e| e.field == field);
        AuditQuery {
            from: if bad("from") {
                String::new()
            } else {
                self.from.clone()
            },
            to: if bad("to") {
                String::new()
            } else {
                self.to.clone()
            },
            ..self.clone()
        }
    }

    /// The message for `field` (`from`/`to`), if its date is not good.
    pub fn date_error(&self, field: &str) -> Option<String> {
        self.time_range()
            .err()?
            .into_iter()
            .find(|e| e.field == field)
            .map(|e| e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_survives_the_round_trip_through_the_url() {
        let q = AuditQuery {
            actor: "ada@example.com".into(),
            action: "token.create".into(),
            target: "ci bot".into(),
            from: "2026-12-01".into(),
            to: "2026-12-03".into(),
            page: 3,
        };
        let qs = q.to_query_string();
        assert_eq!(
            qs,
            "actor=ada%40example.com&action=token.create&target=ci+bot&from=2026-12-01&to=2026-12-03&page=3"
        );
        assert_eq!(AuditQuery::from_query_string(&format!("?{qs}")), q);
        assert_eq!(AuditQuery::default().to_query_string(), "");
        assert!(!q.without_page().to_query_string().contains("page"));
    }

    #[test]
    fn days_are_utc_and_inclusive() {
        let q = AuditQuery::from_query_string("from=1970-01-02&to=1970-01-03");
        assert_eq!(
            q.time_range(),
            Ok(TimeRange {
                from: Some(DAY_SECS),
                before: Some(3 * DAY_SECS),
            })
        );
        let one_day = AuditQuery::from_query_string("from=1970-01-02&to=1970-01-02");
        assert_eq!(one_day.time_range().unwrap().before, Some(2 * DAY_SECS));
        assert_eq!(AuditQuery::default().time_range(), Ok(TimeRange::default()));
    }

    #[test]
    fn bad_dates_are_named_and_dropped() {
        let q = AuditQuery::from_query_string("from=yesterday&to=2026-02-30&actor=ada");
        let errors = q.time_range().unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["from", "to"]
        );
        assert!(q.date_error("from").unwrap().contains("YYYY-MM-DD"));
        let kept = q.without_bad_dates();
        assert_eq!((kept.from.as_str(), kept.to.as_str()), ("", ""));
        assert_eq!(kept.actor, "ada");
        assert_eq!(kept.time_range(), Ok(TimeRange::default()));

        let reversed = AuditQuery::from_query_string("from=2026-12-03&to=2026-12-01");
        assert_eq!(
            reversed.date_error("to").as_deref(),
            Some("The last day is before the first day.")
        );
        assert_eq!(reversed.date_error("from"), None);
        assert_eq!(reversed.without_bad_dates().from, "2026-12-03");
    }
}
