//! The token table's page on PostgreSQL, as one statement. The shape is SQLite's (see
//! `sqlite.rs`): capped matches `m` and their count `c`, then either the matches sorted as a
//! set (≤ 5,000) or a walk of the sort column's covering index. What differs:
//!
//! - the covering indexes hold their filter columns as `INCLUDE` columns (exact last use
//!   among them: every non-HOT update writes every index anyway), so pages come from
//!   index-only scans;
//! - substring search uses the `pg_trgm` GIN index through `LIKE` for the candidates;
//! - the idle branch is switched off by a condition on the count alone, which PostgreSQL
//!   evaluates once (a "one-time filter") before running the branch; the LIMITs stay
//!   constants so the planner prefers walking the sort index.

use super::filter::{
    order_by, push_conditions, sort_key, status_condition, Dialect, Sql, PAGE_COLUMNS,
};
use super::TableQuery;
use crate::backend::repo::contains_pattern;
use crate::domain::token_query::COUNT_CAP;

/// Candidates beyond this many make the trigram index slower than walking a covering index.
const TRGM_CANDIDATES: i64 = 10_000;

fn uses_trgm(q: &TableQuery) -> bool {
    q.filter
        .search
        .as_ref()
        .is_some_and(|s| s.chars().count() >= 3)
}

fn push_matches(sql: &mut Sql, q: &TableQuery) {
    let f = &q.filter;
    let cap = COUNT_CAP + 1;
    if uses_trgm(q) {
        let text = f.search.as_deref().unwrap_or_default();
        sql.push("fts AS MATERIALIZED (SELECT id FROM tokens WHERE search_text LIKE ")
            .bind(contains_pattern(text))
            .push(&format!(" ESCAPE '\\' LIMIT {}), ", TRGM_CANDIDATES + 1))
            .push(&format!(
                "small AS (SELECT count(*) <= {TRGM_CANDIDATES} AS v FROM fts), "
            ))
            .push("m AS MATERIALIZED (SELECT id FROM (SELECT t.id FROM fts CROSS JOIN tokens t WHERE t.id = fts.id AND (SELECT v FROM small) AND ");
        push_conditions(sql, f, false, None);
        sql.push(&format!(
            " LIMIT {cap}) a UNION ALL SELECT id FROM (SELECT id FROM tokens WHERE NOT (SELECT v FROM small) AND "
        ));
        push_conditions(sql, f, true, None);
        sql.push(&format!(" LIMIT {cap}) b LIMIT {cap}), "));
    } else {
        sql.push("m AS MATERIALIZED (SELECT id FROM tokens WHERE ");
        push_conditions(sql, f, true, None);
        sql.push(&format!(" LIMIT {cap}), "));
    }
    sql.push("c AS (SELECT count(*) AS n FROM m)");
}

/// The page and the capped count in one statement. With no row on the page the result is
/// empty; the caller then asks `count`.
pub fn page(q: &TableQuery) -> Sql {
    let mut sql = Sql::new(Dialect::Postgres);
    let f = &q.filter;
    let (per, off, now) = (q.limit, q.offset, f.now);
    sql.push("WITH ");
    push_matches(&mut sql, q);
    sql.push(&format!(
        " SELECT {PAGE_COLUMNS}, c.n AS matches FROM c CROSS JOIN (\
         SELECT id FROM (SELECT t2.id FROM m CROSS JOIN tokens t2 WHERE t2.id = m.id \
         AND (SELECT n FROM c) <= {COUNT_CAP} ORDER BY {} LIMIT {per} OFFSET {off}) small_set \
         UNION ALL SELECT id FROM (",
        order_by(q.sort, q.desc, now, "t2.")
    ));
    let guard = format!("(SELECT n FROM c) > {COUNT_CAP}");
    match sort_key(q.sort, q.desc) {
        Some(_) => {
            sql.push(&format!("SELECT id FROM tokens WHERE {guard} AND "));
            push_conditions(&mut sql, f, true, None);
            sql.push(&format!(
                " ORDER BY {} LIMIT {per} OFFSET {off}",
                order_by(q.sort, q.desc, now, "")
            ));
        }
        None => {
            let dir = if q.desc { " DESC" } else { "" };
            sql.push("SELECT id FROM (");
            for (i, status) in f.statuses_in_order().into_iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push(&format!(
                    "SELECT {} AS r, id FROM tokens WHERE {guard} AND {} AND ",
                    crate::domain::token_status::sort_rank(status),
                    status_condition(status, now)
                ));
                push_conditions(&mut sql, f, true, None);
            }
            sql.push(&format!(
                ") arms ORDER BY r{dir}, id{dir} LIMIT {per} OFFSET {off}"
            ));
        }
    }
    sql.push(&format!(
        ") walk) p CROSS JOIN tokens t \
         LEFT JOIN service_accounts sa ON sa.id = t.service_account_id \
         LEFT JOIN users u ON u.id = t.user_id WHERE t.id = p.id ORDER BY {}",
        order_by(q.sort, q.desc, now, "t.")
    ));
    sql
}

/// The capped count alone (a page past the end has no row to carry it).
pub fn count(q: &TableQuery) -> Sql {
    let mut sql = Sql::new(Dialect::Postgres);
    sql.push("WITH ");
    push_matches(&mut sql, q);
    sql.push(" SELECT n AS matches FROM c");
    sql
}
