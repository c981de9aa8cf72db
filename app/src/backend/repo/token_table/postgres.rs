//! The token table's page on PostgreSQL, as one statement. The plans are SQLite's (see
//! `sqlite.rs`: walk first, or filter first and walk past 5,000 matches); what differs:
//!
//! - the covering indexes hold their filter columns as `INCLUDE` columns (the exact time of
//!   last use among them: a non-HOT update writes every index anyway), so walks are
//!   index-only scans, and `tokens_list_id` gives the status arms their id order;
//! - substring search finds its candidates through the `pg_trgm` GIN index (`LIKE`);
//! - the planner chooses the indexes (no hints); the branches the data turn off carry a
//!   condition on the count alone, which PostgreSQL evaluates once ("one-time filter")
//!   before running the branch, and LIMITs stay constants so walking an index in order
//!   stays the cheap plan for a page.

use super::filter::{
    kind_prefix_range, order_by, push_conditions, sort_key, status_condition, Access, Dialect, Sql,
    PAGE_COLUMNS,
};
use super::TableQuery;
use crate::backend::repo::contains_pattern;
use crate::domain::token_query::{SortColumn, COUNT_CAP};
use crate::domain::token_status::sort_rank;

/// Candidates beyond this many make the trigram index slower than walking a covering index.
const TRGM_CANDIDATES: i64 = 10_000;

fn narrow(q: &TableQuery) -> bool {
    !matches!(Access::for_filter(&q.filter), Access::Scan | Access::Kind)
}

/// Appends a walk of the sort order yielding `(k, id)` when `guard` holds.
fn push_walk(sql: &mut Sql, q: &TableQuery, guard: &str, limit: i64, offset: i64) {
    let f = &q.filter;
    let d = q.dir();
    match sort_key(q.sort, q.desc) {
        Some((column, _)) => {
            sql.push(&format!(
                "SELECT {column} AS k, id FROM tokens WHERE {guard} AND "
            ));
            push_conditions(sql, f, true, None);
            if q.sort == SortColumn::Prefix {
                sql.push(&kind_prefix_range(f).unwrap_or_default());
            }
            sql.push(&format!(
                " ORDER BY {column}{d}, id{d} LIMIT {limit} OFFSET {offset}"
            ));
        }
        None => {
            // One walk per status in rank order, each in id order: an Append runs its arms
            // one after the other and stops once the limit is reached.
            let mut statuses = f.statuses_in_order();
            if q.desc {
                statuses.reverse();
            }
            sql.push("SELECT k, id FROM (");
            for (i, status) in statuses.into_iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push(&format!(
                    "(SELECT {} AS k, id FROM tokens WHERE {guard} AND {} AND ",
                    sort_rank(status),
                    status_condition(status, f.now)
                ));
                push_conditions(sql, f, true, None);
                sql.push(&format!(" ORDER BY id{d} LIMIT {})", offset + limit));
            }
            sql.push(&format!(") arms LIMIT {limit} OFFSET {offset}"));
        }
    }
}

/// Appends the `m` and `c` common table expressions (after `WITH`); returns the condition
/// under which the page is a slice of `m` (else it walks the sort index).
fn push_matches(sql: &mut Sql, q: &TableQuery) -> String {
    let f = &q.filter;
    let cap = COUNT_CAP + 1;
    let few = format!("(SELECT n FROM c) <= {COUNT_CAP}");
    let filter_first = |sql: &mut Sql, guard: &str| {
        sql.push(&format!(
            "SELECT {} AS k, id FROM tokens WHERE {guard} AND ",
            q.key("")
        ));
        push_conditions(sql, f, true, None);
        sql.push(&format!(" LIMIT {cap}"));
    };
    let slice_ok = if q.trigram_search() {
        let text = f.search.as_deref().unwrap_or_default();
        sql.push("fts AS MATERIALIZED (SELECT id FROM tokens WHERE search_text LIKE ")
            .bind(contains_pattern(text))
            .push(&format!(" ESCAPE '\\' LIMIT {}), ", TRGM_CANDIDATES + 1))
            .push(&format!(
                "small AS (SELECT count(*) <= {TRGM_CANDIDATES} AS v FROM fts), "
            ))
            .push(&format!(
                "m AS MATERIALIZED (SELECT k, id FROM (SELECT {} AS k, t.id FROM fts CROSS JOIN tokens t WHERE t.id = fts.id AND (SELECT v FROM small) AND ",
                q.key("t.")
            ));
        push_conditions(sql, f, false, None);
        sql.push(&format!(" LIMIT {cap}) a UNION ALL ("));
        let slice_ok = if narrow(q) {
            filter_first(sql, "NOT (SELECT v FROM small)");
            few.clone()
        } else {
            push_walk(sql, q, "NOT (SELECT v FROM small)", cap, 0);
            format!("({few} OR NOT (SELECT v FROM small))")
        };
        sql.push(")), ");
        slice_ok
    } else {
        sql.push("m AS MATERIALIZED (");
        let slice_ok = if narrow(q) {
            filter_first(sql, "TRUE");
            few.clone()
        } else {
            push_walk(sql, q, "TRUE", cap, 0);
            "TRUE".to_string()
        };
        sql.push("), ");
        slice_ok
    };
    sql.push("c AS (SELECT count(*) AS n FROM m)");
    slice_ok
}

/// The page and the capped count in one statement. With no row on the page the result is
/// empty; the caller then asks `count`.
pub fn page(q: &TableQuery) -> Sql {
    let mut sql = Sql::new(Dialect::Postgres);
    let (per, off, d) = (q.limit, q.offset, q.dir());
    sql.push("WITH ");
    let slice_ok = push_matches(&mut sql, q);
    sql.push(&format!(
        " SELECT {PAGE_COLUMNS}, c.n AS matches FROM c CROSS JOIN (\
         (SELECT id FROM m WHERE {slice_ok} ORDER BY k{d}, id{d} LIMIT {per} OFFSET {off})"
    ));
    if slice_ok != "TRUE" {
        sql.push(" UNION ALL (SELECT id FROM (");
        push_walk(&mut sql, q, &format!("NOT ({slice_ok})"), per, off);
        sql.push(") walk)");
    }
    sql.push(&format!(
        ") p CROSS JOIN tokens t \
         LEFT JOIN service_accounts sa ON sa.id = t.service_account_id \
         LEFT JOIN users u ON u.id = t.user_id WHERE t.id = p.id ORDER BY {}",
        order_by(q.sort, q.desc, q.filter.now, "t.")
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
