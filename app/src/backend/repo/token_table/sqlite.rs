//! The token table's page on SQLite, as one statement.
//!
//! 1. `fts`: a search of 3+ characters asks the FTS5 trigram index for up to 10,001 rows;
//!    `small` says whether it found at most 10,000.
//! 2. `m(id, k)`: up to 5,001 matches with their sort key, and `c` their count (the capped
//!    total). Two plans:
//!    - *walk first* (no narrow filter): walk the sort column's covering index in order and
//!      keep the first 5,001 matches. Dense matches are found quickly, and the page is a
//!      slice of them whatever the count.
//!    - *filter first* (an owner list, an expiry window, recent use, a creation range, or a
//!      search with few candidates): read the matches from that narrow index or from the
//!      candidates. Up to 5,000 are sorted in memory (exact count); beyond that the page walks
//!      the sort index after all, which finds it quickly because matches are everywhere.
//! 3. The page's rows with their owners, re-sorted (at most 100 rows).
//!
//! Branches that the data turn off are switched by a LIMIT that is zero: SQLite evaluates a
//! LIMIT once, before its loop, so an idle branch reads nothing. (A WHERE condition on the
//! count is not hoisted out of the loop and would be checked on every row.)

use super::filter::{
    kind_prefix_range, order_by, push_conditions, sort_key, status_condition, Access, Dialect, Sql,
    PAGE_COLUMNS,
};
use super::TableQuery;
use crate::domain::token_query::{SortColumn, COUNT_CAP};
use crate::domain::token_status::sort_rank;
use crate::model::TokenStatus;

/// Candidates beyond this many make the full-text index slower than walking a covering index.
const FTS_CANDIDATES: i64 = 10_000;

/// The FTS5 phrase for a substring (trigram tokenizer: 3+ characters).
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A narrow filter's index, if the filter has one worth starting from.
fn narrow(q: &TableQuery) -> Option<Access> {
    match Access::for_filter(&q.filter) {
        Access::Scan | Access::Kind => None,
        a => Some(a),
    }
}

/// Appends a walk of the sort order yielding `(k, id)`, `limit` rows after `offset`.
fn push_walk(sql: &mut Sql, q: &TableQuery, limit: &str, offset: i64) {
    let f = &q.filter;
    let d = q.dir();
    match sort_key(q.sort, q.desc) {
        Some((column, index)) => {
            sql.push(&format!(
                "SELECT {column} AS k, id FROM tokens INDEXED BY {index} WHERE "
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
            // One walk per status, in rank order, each in id order. UNION ALL without ORDER
            // BY runs its arms one after the other in SQLite, so a later arm is not read once
            // the limit is reached (a compound ORDER BY would merge, reading every arm's first
            // match up front); the status-sort test over 5,000+ matches pins this order.
            let mut statuses = f.statuses_in_order();
            if q.desc {
                statuses.reverse();
            }
            let arm_limit = offset + COUNT_CAP + 1;
            sql.push("SELECT k, id FROM (");
            for (i, status) in statuses.into_iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                // A narrow filter's own index (within one kind the kind index is in id order
                // already), else the rowid order itself.
                let access = match Access::for_filter(f) {
                    Access::Scan if status == TokenStatus::ExpiringSoon => {
                        "INDEXED BY tokens_list_expires".to_string()
                    }
                    Access::Scan | Access::Created => "NOT INDEXED".to_string(),
                    a => format!("INDEXED BY {}", a.index()),
                };
                sql.push(&format!(
                    "SELECT {} AS k, id FROM (SELECT id FROM tokens {access} WHERE {} AND ",
                    sort_rank(status),
                    status_condition(status, f.now)
                ));
                push_conditions(sql, f, true, Access::for_filter(f).into());
                sql.push(&format!(" ORDER BY id{d} LIMIT {arm_limit})"));
            }
            sql.push(&format!(") LIMIT {limit} OFFSET {offset}"));
        }
    }
}

/// Appends the `m` and `c` common table expressions (after `WITH`); returns the condition
/// under which the page is a slice of `m` (else it walks the sort index).
fn push_matches(sql: &mut Sql, q: &TableQuery) -> String {
    let f = &q.filter;
    let cap = COUNT_CAP + 1;
    let few = format!("(SELECT n FROM c) <= {COUNT_CAP}");
    // Matches read from a narrow index, with their sort keys.
    let filter_first = |sql: &mut Sql, access: Access, limit: &str| {
        sql.push(&format!(
            "SELECT {} AS k, id FROM tokens INDEXED BY {} WHERE ",
            q.key(""),
            access.index()
        ));
        push_conditions(sql, f, true, Some(access));
        sql.push(&format!(" LIMIT {limit}"));
    };
    let slice_ok = if q.trigram_search() {
        let text = f.search.as_deref().unwrap_or_default();
        sql.push("fts(id) AS MATERIALIZED (SELECT rowid FROM token_search WHERE token_search MATCH ")
            .bind(fts_phrase(text))
            .push(&format!(" LIMIT {}), ", FTS_CANDIDATES + 1))
            .push(&format!(
                "small(v) AS (SELECT count(*) <= {FTS_CANDIDATES} FROM fts), "
            ))
            .push(&format!(
                "m(k, id) AS MATERIALIZED (SELECT k, id FROM (SELECT {} AS k, t.id AS id FROM fts CROSS JOIN tokens t ON t.id = fts.id WHERE ",
                q.key("t.")
            ));
        push_conditions(sql, f, false, None);
        sql.push(&format!(
            " LIMIT CASE WHEN (SELECT v FROM small) THEN {cap} ELSE 0 END) UNION ALL SELECT k, id FROM ("
        ));
        let otherwise = format!("CASE WHEN (SELECT v FROM small) THEN 0 ELSE {cap} END");
        let slice_ok = match narrow(q) {
            Some(access) => {
                filter_first(sql, access, &otherwise);
                few.clone()
            }
            None => {
                push_walk(sql, q, &otherwise, 0);
                format!("({few} OR NOT (SELECT v FROM small))")
            }
        };
        sql.push(")), ");
        slice_ok
    } else {
        sql.push("m(k, id) AS MATERIALIZED (");
        let slice_ok = match narrow(q) {
            Some(access) => {
                filter_first(sql, access, &cap.to_string());
                few.clone()
            }
            None => {
                push_walk(sql, q, &cap.to_string(), 0);
                "1".to_string()
            }
        };
        sql.push("), ");
        slice_ok
    };
    sql.push("c(n) AS (SELECT count(*) FROM m)");
    slice_ok
}

/// The page and the capped count in one statement (see the module comment). With no row on
/// the page the result is empty; the caller then asks `count`.
pub fn page(q: &TableQuery) -> Sql {
    let mut sql = Sql::new(Dialect::Sqlite);
    let (per, off, d) = (q.limit, q.offset, q.dir());
    sql.push("WITH ");
    let slice_ok = push_matches(&mut sql, q);
    sql.push(&format!(
        " SELECT {PAGE_COLUMNS}, c.n AS matches FROM c CROSS JOIN (\
         SELECT id FROM (SELECT id FROM m ORDER BY k{d}, id{d} \
         LIMIT CASE WHEN {slice_ok} THEN {per} ELSE 0 END OFFSET {off})"
    ));
    if slice_ok != "1" {
        sql.push(" UNION ALL SELECT id FROM (");
        push_walk(
            &mut sql,
            q,
            &format!("CASE WHEN {slice_ok} THEN 0 ELSE {per} END"),
            off,
        );
        sql.push(")");
    }
    sql.push(&format!(
        ") p CROSS JOIN tokens t ON t.id = p.id \
         LEFT JOIN service_accounts sa ON sa.id = t.service_account_id \
         LEFT JOIN users u ON u.id = t.user_id ORDER BY {}",
        order_by(q.sort, q.desc, q.filter.now, "t.")
    ));
    sql
}

/// The capped count alone (a page past the end has no row to carry it).
pub fn count(q: &TableQuery) -> Sql {
    let mut sql = Sql::new(Dialect::Sqlite);
    sql.push("WITH ");
    push_matches(&mut sql, q);
    sql.push(" SELECT n AS matches FROM c");
    sql
}
