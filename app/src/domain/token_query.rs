//! The organisation-wide token table's view: search, filters, sort and page, as one value
//! that round-trips through the URL query string (so a view can be reloaded, bookmarked,
//! shared and saved) and is parsed the same way by the page and the server.

use serde::{Deserialize, Serialize};

use super::token_format::TokenKind;
use crate::model::TokenStatus;

pub const PAGE_SIZES: [i64; 3] = [25, 50, 100];
pub const DEFAULT_PAGE_SIZE: i64 = 25;
/// Counting stops here: beyond it the table says "more than 5,000" and pages through the
/// first 5,000 only (narrow the filter, or sort the other way, to reach the rest). Up to this
/// many matches the table is sorted from the matches themselves and the count is exact; an
/// exact count of a million rows on every view would cost more than the page itself.
pub const COUNT_CAP: i64 = 5_000;
pub const MAX_OWNERS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortColumn {
    Name,
    Prefix,
    Owner,
    OwnerType,
    Role,
    Created,
    Expires,
    LastUsed,
    Status,
}

impl SortColumn {
    pub const ALL: [SortColumn; 9] = [
        SortColumn::Name,
        SortColumn::Prefix,
        SortColumn::Owner,
        SortColumn::OwnerType,
        SortColumn::Role,
        SortColumn::Created,
        SortColumn::Expires,
        SortColumn::LastUsed,
        SortColumn::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::Prefix => "prefix",
            SortColumn::Owner => "owner",
            SortColumn::OwnerType => "owner_type",
            SortColumn::Role => "role",
            SortColumn::Created => "created",
            SortColumn::Expires => "expires",
            SortColumn::LastUsed => "last_used",
            SortColumn::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The direction a first click sorts in: newest first for times, A–Z for text.
    pub fn natural_desc(self) -> bool {
        matches!(self, SortColumn::Created | SortColumn::LastUsed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Usage {
    Any,
    Never,
    /// Not used for more than N days (never-used tokens included).
    UnusedFor(i64),
    /// Used within the last N days.
    UsedWithin(i64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenQuery {
    pub q: String,
    pub owner_type: Option<TokenKind>,
    pub statuses: Vec<TokenStatus>,
    pub usage: Usage,
    /// Expiring within this many days (7 or 30).
    pub expiring_within: Option<i64>,
    /// Owner names (service account names or e-mail addresses), exact.
    pub owners: Vec<String>,
    /// Created on or after this date (YYYY-MM-DD, UTC).
    pub created_from: Option<String>,
    /// Created on or before this date (inclusive).
    pub created_to: Option<String>,
    pub sort: SortColumn,
    pub desc: bool,
    pub page: i64,
    pub per_page: i64,
}

/// N of "not used for more than N days" / "used within N days" when the form leaves it empty.
pub const DEFAULT_USAGE_DAYS: i64 = 90;

impl Default for TokenQuery {
    fn default() -> Self {
        TokenQuery {
            q: String::new(),
            owner_type: None,
            statuses: Vec::new(),
            usage: Usage::Any,
            expiring_within: None,
            owners: Vec::new(),
            created_from: None,
            created_to: None,
            sort: SortColumn::Created,
            desc: true,
            page: 1,
            per_page: DEFAULT_PAGE_SIZE,
        }
    }
}

fn valid_date(s: &str) -> Option<String> {
    super::expiry::parse_date(s)
        .ok()
        .map(|_| s.trim().to_string())
}

impl TokenQuery {
    /// Reads a view from query pairs. Unknown or malformed values fall back to defaults rather
    /// than failing: a hand-edited or outdated link still opens a sensible table.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = TokenQuery::default();
        let mut usage = String::new();
        let mut days: Option<i64> = None;
        let mut dir: Option<bool> = None;
        for (key, value) in pairs {
            let value = value.trim();
            match key {
                "q" => q.q = super::names::search_text(value),
                "type" => q.owner_type = TokenKind::parse(value),
                "status" | "status[]" => {
                    for s in value.split(',') {
                        if let Some(s) = TokenStatus::parse(s.trim()) {
                            if !q.statuses.contains(&s) {
                                q.statuses.push(s);
                            }
                        }
                    }
                }
                "usage" => usage = value.to_string(),
                "days" => days = value.parse().ok().filter(|d| (1..=3650).contains(d)),
                "expiring" => {
                    q.expiring_within = value.parse().ok().filter(|d| *d == 7 || *d == 30)
                }
                "owner" | "owner[]" => {
                    for o in value.split(',') {
                        let o = super::names::search_text(o).to_lowercase();
                        if !o.is_empty() && !q.owners.contains(&o) && q.owners.len() < MAX_OWNERS {
                            q.owners.push(o);
                        }
                    }
                }
                "created_from" => q.created_from = valid_date(value),
                "created_to" => q.created_to = valid_date(value),
                "sort" => {
                    if let Some(c) = SortColumn::parse(value) {
                        q.sort = c;
                    }
                }
                "dir" => {
                    dir = match value {
                        "asc" => Some(false),
                        "desc" => Some(true),
                        _ => None,
                    }
                }
                "page" => q.page = value.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                "size" => {
                    q.per_page = value
                        .parse()
                        .ok()
                        .filter(|s| PAGE_SIZES.contains(s))
                        .unwrap_or(DEFAULT_PAGE_SIZE)
                }
                _ => {}
            }
        }
        q.desc = dir.unwrap_or(q.sort.natural_desc());
        q.usage = match (usage.as_str(), days) {
            ("never", _) => Usage::Never,
            // The form's N field shows 90 as its placeholder: an empty N means 90.
            ("unused", d) => Usage::UnusedFor(d.unwrap_or(DEFAULT_USAGE_DAYS)),
            ("used", d) => Usage::UsedWithin(d.unwrap_or(DEFAULT_USAGE_DAYS)),
            _ => Usage::Any,
        };
        q.page = q.page.min(COUNT_CAP / q.per_page + 1);
        q
    }

    /// Parses a raw query string (`a=1&b=2`, with or without the leading `?`).
    pub fn from_query_string(qs: &str) -> Self {
        let pairs: Vec<(String, String)> = url_decode_pairs(qs.trim_start_matches('?'));
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The canonical query string: defaults left out, so equal views give equal URLs.
    pub fn to_query_string(&self) -> String {
        let d = TokenQuery::default();
        let mut parts: Vec<(String, String)> = Vec::new();
        if !self.q.is_empty() {
            parts.push(("q".into(), self.q.clone()));
        }
        if let Some(k) = self.owner_type {
            parts.push(("type".into(), k.as_str().into()));
        }
        if !self.statuses.is_empty() {
            let list: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(("status".into(), list.join(",")));
        }
        match self.usage {
            Usage::Any => {}
            Usage::Never => parts.push(("usage".into(), "never".into())),
            Usage::UnusedFor(n) => {
                parts.push(("usage".into(), "unused".into()));
                parts.push(("days".into(), n.to_string()));
            }
            Usage::UsedWithin(n) => {
                parts.push(("usage".into(), "used".into()));
                parts.push(("days".into(), n.to_string()));
            }
        }
        if let Some(n) = self.expiring_within {
            parts.push(("expiring".into(), n.to_string()));
        }
        if !self.owners.is_empty() {
            parts.push(("owner".into(), self.owners.join(",")));
        }
        if let Some(f) = &self.created_from {
            parts.push(("created_from".into(), f.clone()));
        }
        if let Some(t) = &self.created_to {
            parts.push(("created_to".into(), t.clone()));
        }
        if self.sort != d.sort || self.desc != self.sort.natural_desc() {
            parts.push(("sort".into(), self.sort.as_str().into()));
            parts.push(("dir".into(), if self.desc { "desc" } else { "asc" }.into()));
        }
        if self.per_page != d.per_page {
            parts.push(("size".into(), self.per_page.to_string()));
        }
        if self.page != 1 {
            parts.push(("page".into(), self.page.to_string()));
        }
        url_encode_pairs(parts.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The same view without its position: for saved searches and "everything matching".
    pub fn without_page(&self) -> TokenQuery {
        TokenQuery {
            page: 1,
            ..self.clone()
        }
    }

    pub fn with_page(&self, page: i64) -> TokenQuery {
        TokenQuery {
            page,
            ..self.clone()
        }
    }

    /// Clicking a column header: sort by it, flipping the direction if it already is.
    pub fn sorted_by(&self, column: SortColumn) -> TokenQuery {
        let desc = if self.sort == column {
            !self.desc
        } else {
            column.natural_desc()
        };
        TokenQuery {
            sort: column,
            desc,
            page: 1,
            ..self.clone()
        }
    }

    pub fn has_filters(&self) -> bool {
        let d = TokenQuery::default();
        self.q != d.q
            || self.owner_type.is_some()
            || !self.statuses.is_empty()
            || self.usage != Usage::Any
            || self.expiring_within.is_some()
            || !self.owners.is_empty()
            || self.created_from.is_some()
            || self.created_to.is_some()
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// A query string of `key=value` pairs, values form-encoded (keys are the views' own names).
pub fn url_encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `application/x-www-form-urlencoded` pairs, decoded.
pub fn url_decode_pairs(qs: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(qs.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_without_days_means_ninety_days() {
        let q = TokenQuery::from_query_string("usage=unused&days=");
        assert_eq!(q.usage, Usage::UnusedFor(DEFAULT_USAGE_DAYS));
        assert_eq!(q.to_query_string(), "usage=unused&days=90");
        let q = TokenQuery::from_query_string("usage=unused&days=abc");
        assert_eq!(q.usage, Usage::UnusedFor(DEFAULT_USAGE_DAYS));
        let q = TokenQuery::from_query_string("usage=used&days=7");
        assert_eq!(q.usage, Usage::UsedWithin(7));
    }

    #[test]
    fn defaults_are_newest_first_25_per_page() {
        let q = TokenQuery::from_query_string("");
        assert_eq!(q, TokenQuery::default());
        assert_eq!(q.to_query_string(), "");
        assert_eq!(q.sort, SortColumn::Created);
        assert!(q.desc);
    }

    #[test]
    fn every_field_round_trips() {
        let q = TokenQuery {
            q: "deploy prod".into(),
            owner_type: Some(TokenKind::ServiceAccount),
            statuses: vec![TokenStatus::Revoked, TokenStatus::Expired],
            usage: Usage::UnusedFor(90),
            expiring_within: Some(30),
            owners: vec!["ci_bot".into(), "ada@example.com".into()],
            created_from: Some("2026-01-01".into()),
            created_to: Some("2026-06-30".into()),
            sort: SortColumn::LastUsed,
            desc: false,
            page: 4,
            per_page: 50,
        };
        let qs = q.to_query_string();
        assert_eq!(
            qs,
            "q=deploy+prod&type=service_account&status=revoked%2Cexpired&usage=unused&days=90&expiring=30&owner=ci_bot%2Cada%40example.com&created_from=2026-01-01&created_to=2026-06-30&sort=last_used&dir=asc&size=50&page=4"
        );
        assert_eq!(TokenQuery::from_query_string(&qs), q);
        assert_eq!(TokenQuery::from_query_string(&format!("?{qs}")), q);
    }

    #[test]
    fn repeated_parameters_from_a_plain_form_are_understood() {
        let q = TokenQuery::from_query_string(
            "status=revoked&status=expired&owner=ci_bot&owner=Ada%40Example.com&usage=used&days=7",
        );
        assert_eq!(q.statuses, vec![TokenStatus::Revoked, TokenStatus::Expired]);
        assert_eq!(
            q.owners,
            vec!["ci_bot".to_string(), "ada@example.com".to_string()]
        );
        assert_eq!(q.usage, Usage::UsedWithin(7));
    }

    #[test]
    fn garbage_falls_back_to_defaults() {
        let q = TokenQuery::from_query_string("sort=evil&dir=sideways&page=-3&size=1000&status=nope&type=robot&usage=sometimes&days=abc&created_from=yesterday&owner=%20,%00&expiring=9&q=%00%01");
        assert_eq!(q, TokenQuery::default());
        let deep = TokenQuery::from_query_string("page=99999");
        assert_eq!(deep.page, COUNT_CAP / DEFAULT_PAGE_SIZE + 1);
    }

    #[test]
    fn sorting_by_a_column_flips_only_when_repeated() {
        let q = TokenQuery::default();
        let by_name = q.sorted_by(SortColumn::Name);
        assert_eq!((by_name.sort, by_name.desc), (SortColumn::Name, false));
        let again = by_name.sorted_by(SortColumn::Name);
        assert!(again.desc);
        let paged = TokenQuery {
            page: 5,
            ..by_name.clone()
        };
        assert_eq!(paged.sorted_by(SortColumn::Owner).page, 1);
    }

    #[test]
    fn decoding_handles_plus_and_percent() {
        assert_eq!(
            url_decode_pairs("a=b+c%21"),
            vec![("a".into(), "b c!".into())]
        );
        assert_eq!(url_decode_pairs("q=%C3%A9"), vec![("q".into(), "é".into())]);
    }
}
