//! What narrows and orders the token table, as SQL text shared by both engines. Conditions
//! read only columns the covering `tokens_list_*` indexes hold, so a page is found by walking
//! one index; where the engines differ (last use, substring search, placeholders) the
//! `Dialect` decides. Numbers are computed here and written as literals; every string that
//! comes from a user travels as a bound parameter.

use crate::domain::limits::DAY_SECS;
use crate::domain::token_format::TokenKind;
use crate::domain::token_query::{SortColumn, Usage};
use crate::domain::token_status::{self, SORT_ORDER};
use crate::model::TokenStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Everything that narrows the table, resolved to values.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    pub service_accounts_only: bool,
    pub kind: Option<&'static str>,
    pub statuses: Vec<TokenStatus>,
    pub usage: Option<Usage>,
    pub expiring_within_days: Option<i64>,
    pub owners: Vec<String>,
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    /// Lowercased substring of the search text.
    pub search: Option<String>,
    /// Only owners with one of these roles (bulk revoke by a Power User).
    pub owner_roles: Option<Vec<&'static str>>,
    /// Only live tokens (not revoked, not expired).
    pub live_only: bool,
    /// Keyset for the CSV export: ids above this one.
    pub after_id: Option<i64>,
    pub now: i64,
}

impl TableFilter {
    /// The statuses a status sort visits, in sort order: those the filter can match (an
    /// expiry window or "live only" rules out expired and revoked tokens).
    pub fn statuses_in_order(&self) -> Vec<TokenStatus> {
        let live = self.live_only || self.expiring_within_days.is_some();
        SORT_ORDER
            .into_iter()
            .filter(|s| self.statuses.is_empty() || self.statuses.contains(s))
            .filter(|s| !(live && matches!(s, TokenStatus::Expired | TokenStatus::Revoked)))
            .collect()
    }
}

/// A statement being written: its text and the strings bound to its placeholders.
#[derive(Debug)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<String>,
    pub dialect: Dialect,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            text: String::with_capacity(2048),
            binds: Vec::new(),
            dialect,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<String>) -> &mut Self {
        self.binds.push(value.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                let n = self.binds.len();
                self.text.push_str(&format!("${n}"));
            }
        }
        self
    }
}

/// The condition for one status in terms of the indexed columns (`expires_key` is the expiry
/// with "never" as the largest value), following `token_status::status_at`.
pub fn status_condition(status: TokenStatus, now: i64) -> String {
    let soon = token_status::soon_after(now);
    match status {
        TokenStatus::Revoked => "revoked_at IS NOT NULL".into(),
        TokenStatus::Expired => format!("(revoked_at IS NULL AND expires_key <= {now})"),
        TokenStatus::OwnerDisabled => {
            format!("(revoked_at IS NULL AND owner_disabled AND expires_key > {now})")
        }
        TokenStatus::ExpiringSoon => format!(
            "(revoked_at IS NULL AND NOT owner_disabled AND expires_key > {now} AND expires_key < {soon})"
        ),
        TokenStatus::Active => {
            format!("(revoked_at IS NULL AND NOT owner_disabled AND expires_key >= {soon})")
        }
    }
}

/// The status sort's rank as SQL: the position in `SORT_ORDER` of the first status whose
/// condition holds. `prefix` qualifies the columns (e.g. `t.`).
pub fn status_rank(now: i64, prefix: &str) -> String {
    let mut out = String::from("CASE");
    for status in SORT_ORDER {
        let cond = qualify(&status_condition(status, now), prefix);
        out.push_str(&format!(
            " WHEN {cond} THEN {}",
            token_status::sort_rank(status)
        ));
    }
    out.push_str(" END");
    out
}

fn qualify(cond: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return cond.to_string();
    }
    ["revoked_at", "expires_key", "owner_disabled"]
        .iter()
        .fold(cond.to_string(), |s, col| {
            s.replace(col, &format!("{prefix}{col}"))
        })
}

/// "Not used since `cutoff`" / "used since `cutoff`". SQLite's list indexes hold the day of
/// last use (see the migration); the exact time is read only for the cutoff's own day.
fn usage_condition(usage: Usage, now: i64, dialect: Dialect) -> Option<String> {
    let cutoff = |days: i64| now - days * DAY_SECS;
    Some(match (usage, dialect) {
        (Usage::Any, _) => return None,
        (Usage::Never, Dialect::Sqlite) => "last_used_day IS NULL".into(),
        (Usage::Never, Dialect::Postgres) => "last_used_at IS NULL".into(),
        (Usage::UnusedFor(days), Dialect::Sqlite) => {
            let (c, d) = (cutoff(days), cutoff(days).div_euclid(DAY_SECS));
            format!("(last_used_day IS NULL OR last_used_day < {d} OR (last_used_day = {d} AND last_used_at < {c}))")
        }
        (Usage::UnusedFor(days), Dialect::Postgres) => {
            format!("(last_used_at IS NULL OR last_used_at < {})", cutoff(days))
        }
        (Usage::UsedWithin(days), Dialect::Sqlite) => {
            let (c, d) = (cutoff(days), cutoff(days).div_euclid(DAY_SECS));
            format!("(last_used_day > {d} OR (last_used_day = {d} AND last_used_at >= {c}))")
        }
        (Usage::UsedWithin(days), Dialect::Postgres) => {
            format!("last_used_at >= {}", cutoff(days))
        }
    })
}

/// Which condition an access path can range-scan on, besides the filter itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Owner,
    Expires,
    UsedDown,
    Created,
    Kind,
    Scan,
}

impl Access {
    /// The most selective index the filter can start from (SQLite names it; PostgreSQL's
    /// planner picks the same one from the same conditions).
    pub fn for_filter(f: &TableFilter) -> Access {
        if !f.owners.is_empty() {
            Access::Owner
        } else if f.expiring_within_days.is_some() {
            Access::Expires
        } else if matches!(f.usage, Some(Usage::UsedWithin(_))) {
            Access::UsedDown
        } else if f.created_from.is_some() || f.created_before.is_some() {
            Access::Created
        } else if f.kind.is_some() || f.service_accounts_only {
            Access::Kind
        } else {
            Access::Scan
        }
    }

    pub fn index(self) -> &'static str {
        match self {
            Access::Owner => "tokens_list_owner",
            Access::Expires => "tokens_list_expires",
            Access::UsedDown => "tokens_list_used_down",
            Access::Created | Access::Scan => "tokens_list_created",
            Access::Kind => "tokens_list_kind",
        }
    }
}

/// For a walk of the prefix index: every display prefix starts with its kind's prefix, so a
/// kind filter is also a range of that index, and the walk starts there instead of crossing
/// every token of the other kind first (they all sort before or after it). Only for that
/// index: the others do not hold the prefix.
pub fn kind_prefix_range(f: &TableFilter) -> Option<String> {
    let kind = if f.service_accounts_only {
        TokenKind::ServiceAccount
    } else {
        TokenKind::parse(f.kind?)?
    };
    let (from, to) = prefix_range(kind);
    Some(format!(
        " AND display_prefix >= '{from}' AND display_prefix < '{to}'"
    ))
}

/// The display prefixes of one kind: from its prefix up to the next string after all of them.
fn prefix_range(kind: TokenKind) -> (String, String) {
    let from = kind.prefix().to_string();
    let mut to = from.clone();
    let last = to.pop().expect("kind prefixes are not empty");
    to.push(char::from(last as u8 + 1));
    (from, to)
}

/// Appends the filter's conditions joined by AND (`1 = 1` when there are none). `search`
/// adds the substring condition; `access` adds the range an access path scans.
pub fn push_conditions(sql: &mut Sql, f: &TableFilter, search: bool, access: Option<Access>) {
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        if !first {
            sql.push(" AND ");
        }
        first = false;
    };
    let now = f.now;
    if access == Some(Access::UsedDown) {
        if let Some(Usage::UsedWithin(days)) = f.usage {
            and(sql);
            // The same rows as the usage condition, in the form the index is ordered by.
            sql.push(&format!("used_down_key >= {}", now - days * DAY_SECS));
        }
    }
    if f.service_accounts_only {
        and(sql);
        sql.push("kind = ").bind("service_account");
    }
    if let Some(kind) = f.kind {
        and(sql);
        sql.push("kind = ").bind(kind);
    }
    if !f.statuses.is_empty() {
        and(sql);
        let any: Vec<String> = f
            .statuses
            .iter()
            .map(|s| status_condition(*s, now))
            .collect();
        sql.push(&format!("({})", any.join(" OR ")));
    }
    if let Some(cond) = f.usage.and_then(|u| usage_condition(u, now, sql.dialect)) {
        and(sql);
        sql.push(&cond);
    }
    if let Some(days) = f.expiring_within_days {
        and(sql);
        sql.push(&format!(
            "(revoked_at IS NULL AND expires_key > {now} AND expires_key <= {})",
            now + days * DAY_SECS
        ));
    }
    if !f.owners.is_empty() {
        and(sql);
        sql.push("owner_name IN (");
        for (i, owner) in f.owners.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(owner.as_str());
        }
        sql.push(")");
    }
    if let Some(from) = f.created_from {
        and(sql);
        sql.push(&format!("created_at >= {from}"));
    }
    if let Some(before) = f.created_before {
        and(sql);
        sql.push(&format!("created_at < {before}"));
    }
    if let Some(roles) = &f.owner_roles {
        and(sql);
        sql.push("owner_role IN (");
        for (i, role) in roles.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*role);
        }
        if roles.is_empty() {
            sql.push("NULL");
        }
        sql.push(")");
    }
    if f.live_only {
        and(sql);
        sql.push(&format!("(revoked_at IS NULL AND expires_key > {now})"));
    }
    if let Some(after) = f.after_id {
        and(sql);
        sql.push(&format!("id > {after}"));
    }
    if search {
        if let Some(text) = &f.search {
            and(sql);
            match sql.dialect {
                Dialect::Sqlite => sql.push("instr(search_text, ").bind(text.as_str()),
                Dialect::Postgres => sql.push("strpos(search_text, ").bind(text.as_str()),
            };
            sql.push(") > 0");
        }
    }
    if first {
        sql.push("1 = 1");
    }
}

/// The column a sort walks (its covering index is `tokens_list_<suffix>`), for every sort but
/// status, which is ranked by `status_rank`.
pub fn sort_key(sort: SortColumn, desc: bool) -> Option<(&'static str, &'static str)> {
    Some(match sort {
        SortColumn::Name => ("name", "tokens_list_name"),
        SortColumn::Prefix => ("display_prefix", "tokens_list_prefix"),
        SortColumn::Owner => ("owner_name", "tokens_list_owner"),
        SortColumn::OwnerType => ("kind", "tokens_list_kind"),
        SortColumn::Role => ("owner_role_rank", "tokens_list_role"),
        SortColumn::Created => ("created_at", "tokens_list_created"),
        // "Never expires" after every date going up, before every date going down.
        SortColumn::Expires => ("expires_key", "tokens_list_expires"),
        // "Never used" last in both directions: a key per direction.
        SortColumn::LastUsed if desc => ("used_down_key", "tokens_list_used_down"),
        SortColumn::LastUsed => ("used_up_key", "tokens_list_used_up"),
        SortColumn::Status => return None,
    })
}

/// The ORDER BY of a sort (ties broken by id in the same direction); `prefix` qualifies the
/// columns.
pub fn order_by(sort: SortColumn, desc: bool, now: i64, prefix: &str) -> String {
    let dir = if desc { " DESC" } else { "" };
    let key = match sort_key(sort, desc) {
        Some((column, _)) => format!("{prefix}{column}"),
        None => status_rank(now, prefix),
    };
    format!("{key}{dir}, {prefix}id{dir}")
}

/// The token and owner columns a page returns (`repo::token_table::PageRow`).
pub const PAGE_COLUMNS: &str = "t.id, t.public_id, t.kind, t.service_account_id, t.user_id, \
    t.name, t.description, t.display_prefix, t.secret_hash, t.previous_secret_hash, \
    t.previous_secret_expires_at, t.created_at, t.created_by, t.created_by_label, t.expires_at, \
    t.sliding_days, t.rotated_at, t.last_used_at, t.last_used_ip, t.last_used_user_agent, \
    t.revoked_at, t.revoked_by_label, t.revoke_reason, t.allowed_cidrs, t.rate_limit_per_minute, \
    t.owner_name, sa.name AS sa_name, sa.role AS sa_role, sa.disabled_at AS sa_disabled_at, \
    sa.deleted_at AS sa_deleted_at, sa.can_introspect AS sa_can_introspect, u.email AS u_email, \
    u.display_name AS u_display_name, u.role AS u_role, u.deactivated_at AS u_deactivated_at, \
    u.removed_at AS u_removed_at";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_a_range_of_display_prefixes() {
        for kind in [TokenKind::ServiceAccount, TokenKind::Personal] {
            let (from, to) = prefix_range(kind);
            let shown = crate::domain::token_format::display_prefix(kind, "zzzzzzzzzzzz");
            assert!(from.as_str() <= shown.as_str() && shown.as_str() < to.as_str());
            let shown = crate::domain::token_format::display_prefix(kind, "000000000000");
            assert!(from.as_str() <= shown.as_str() && shown.as_str() < to.as_str());
        }
    }

    #[test]
    fn status_rank_follows_the_domain_order() {
        let rank = status_rank(0, "");
        let positions: Vec<usize> = SORT_ORDER
            .iter()
            .map(|s| rank.find(&status_condition(*s, 0)).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{rank}");
    }

    #[test]
    fn user_strings_are_bound_never_inlined() {
        let f = TableFilter {
            owners: vec!["o'brien".into()],
            search: Some("x') OR 1=1 --".into()),
            ..TableFilter::default()
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut sql = Sql::new(dialect);
            push_conditions(&mut sql, &f, true, None);
            assert!(
                !sql.text.contains("brien") && !sql.text.contains("OR 1=1"),
                "{}",
                sql.text
            );
            assert_eq!(sql.binds, vec!["o'brien", "x') OR 1=1 --"]);
        }
        let mut pg = Sql::new(Dialect::Postgres);
        push_conditions(&mut pg, &f, true, None);
        assert!(
            pg.text.contains("$1") && pg.text.contains("$2"),
            "{}",
            pg.text
        );
    }

    #[test]
    fn role_ranks_in_the_migrations_follow_the_domain() {
        // The generated column owner_role_rank is written in both migrations; its order must
        // be Role::ALL's.
        for sql in [
            include_str!(
                "../../../../../migrations/sqlite/2026-12-02-000003_token_table_plans/up.sql"
            ),
            include_str!(
                "../../../../../migrations/postgres/2026-12-02-000003_token_table_plans/up.sql"
            ),
        ] {
            for (rank, role) in crate::domain::Role::ALL.iter().enumerate() {
                let needle = format!("WHEN '{}' THEN {rank}", role.as_str());
                assert!(sql.contains(&needle), "missing {needle}");
            }
        }
    }
}
