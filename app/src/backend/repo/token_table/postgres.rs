//! The token table's page on PostgreSQL, as one statement. The plans follow SQLite's (see
//! `sqlite.rs`: walk the sort index, or read a narrow filter's matches and sort them); what
//! differs:
//!
//! - the covering indexes hold their filter columns as `INCLUDE` columns (the exact time of
//!   last use among them: a non-HOT update writes every index anyway), so walks are
//!   index-only scans, and `tokens_list_id` gives the status arms their id order;
//! - a narrow filter sorts up to `WIDE` matches, not 5,000: an index-only scan costs ≈ 0.4 µs
//!   an entry here, so a walk for a filter matching 1–3 % of the tokens (2–5 times slower
//!   per entry with a search) cost 150–450 ms, where reading the filter's own index is 20 ms;
//! - substring search finds its candidates through the `pg_trgm` GIN index (`LIKE`), only for
//!   terms a small sample finds rare (see `push_matches`);
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

/// A narrow filter reads up to this many matches from its own index and sorts
/// them, rather than walking the sort index: a filter matching a few percent of the tokens (recent use, an
/// expiry window) would make the walk cross 30–70 index entries per match, 300,000 for the
/// count's 5,001, where reading the filter's index is one entry per match. Past this many the
/// matches are dense enough for the walk. The count a page reports stays capped at
/// `COUNT_CAP + 1`. (SQLite walks an index 2–4 times faster per entry; there, sorting 50,000
/// matches was slower than the walk: BENCHMARKS.md.)
const WIDE: i64 = 50_000;

/// How many rows the common-term sample reads, and the density (one match in this many rows)
/// above which a term counts as common.
const SAMPLE_ROWS: i64 = 2_000;
const SAMPLE_DENSITY: i64 = 50;

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
///
/// - A narrow filter reads its matches from its own index, up to `WIDE`, and sorts them; past
///   that the page walks the sort index, where matches are dense.
/// - A search of 3+ characters that the sample finds rare asks the trigram index for up to
///   `TRGM_CANDIDATES` rows (except with an owner list, expiry window or recent use, which
///   are narrower than any candidate set); a common term, or too many candidates, goes on as
///   if there were no search, since its matches are dense.
/// - Otherwise the walk.
fn push_matches(sql: &mut Sql, q: &TableQuery) -> String {
    let f = &q.filter;
    let cap = COUNT_CAP + 1;
    let few = format!("(SELECT n FROM c) <= {COUNT_CAP}");
    let wide = format!("(SELECT n FROM c) <= {WIDE}");
    // Matches read from the narrow filter's own index (the access condition makes it a range).
    let filter_first = |sql: &mut Sql, access: Access, guard: &str| {
        sql.push(&format!(
            "SELECT {} AS k, id FROM tokens WHERE {guard} AND ",
            q.key("")
        ));
        push_conditions(sql, f, true, Some(access));
        sql.push(&format!(" LIMIT {}", WIDE + 1));
    };
    let access = Access::for_filter(f);
    // An owner list, an expiry window and recent use are narrow by nature: reading them beats
    // any search plan. A creation range can be as wide as the table: a rare term still goes
    // to the trigram index first.
    if matches!(access, Access::Owner | Access::Expires | Access::UsedDown)
        || (narrow(q) && !q.trigram_search())
    {
        sql.push("m AS MATERIALIZED (");
        filter_first(sql, access, "TRUE");
        sql.push("), ");
        sql.push("c AS (SELECT count(*) AS n FROM m)");
        return wide;
    }
    if !q.trigram_search() {
        sql.push("m AS MATERIALIZED (");
        push_walk(sql, q, "TRUE", cap, 0);
        sql.push("), c AS (SELECT count(*) AS n FROM m)");
        return "TRUE".to_string();
    }
    let text = f.search.as_deref().unwrap_or_default();
    // The GIN probe builds its whole bitmap and rechecks every candidate row in the table
    // (≈ 50 ms for a term in 1 % of a million tokens): worth it only for a rare term. A block
    // sample of about 2,000 rows (a fixed seed, so a view always gets the same plan) says
    // whether the term is in more than 2 % of the rows, in 2–3 ms.
    sql.push("s AS (SELECT count(*) FILTER (WHERE strpos(search_text, ")
        .bind(text)
        .push(&format!(
            ") > 0) * {SAMPLE_DENSITY} <= count(*) AS rare FROM tokens TABLESAMPLE SYSTEM \
             ((SELECT least(100, {} / greatest(reltuples, 1)) FROM pg_class \
             WHERE oid = 'tokens'::regclass)) REPEATABLE (0)), ",
            SAMPLE_ROWS * 100
        ))
        .push("fts AS MATERIALIZED (SELECT id FROM tokens WHERE (SELECT rare FROM s) AND search_text LIKE ")
        .bind(contains_pattern(text))
        .push(&format!(" ESCAPE '\\' LIMIT {}), ", TRGM_CANDIDATES + 1))
        .push(&format!(
            "small AS (SELECT (SELECT rare FROM s) AND count(*) <= {TRGM_CANDIDATES} AS v FROM fts), "
        ))
        .push(&format!(
            "m AS MATERIALIZED (SELECT k, id FROM (SELECT {} AS k, t.id FROM fts CROSS JOIN tokens t WHERE t.id = fts.id AND (SELECT v FROM small) AND ",
            q.key("t.")
        ));
    push_conditions(sql, f, false, None);
    sql.push(&format!(" LIMIT {cap}) a UNION ALL ("));
    let slice_ok = if narrow(q) {
        filter_first(sql, access, "NOT (SELECT v FROM small)");
        format!("(((SELECT v FROM small) AND {few}) OR (NOT (SELECT v FROM small) AND {wide}))")
    } else {
        push_walk(sql, q, "NOT (SELECT v FROM small)", cap, 0);
        format!("({few} OR NOT (SELECT v FROM small))")
    };
    sql.push(")), ");
    // `n` counts what `m` holds (up to `WIDE + 1` for a narrow filter); pages report it capped.
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
        " SELECT {PAGE_COLUMNS}, LEAST(c.n, {}) AS matches FROM c CROSS JOIN (\
         (SELECT id FROM m WHERE {slice_ok} ORDER BY k{d}, id{d} LIMIT {per} OFFSET {off})",
        COUNT_CAP + 1
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
    sql.push(&format!(
        " SELECT LEAST(n, {}) AS matches FROM c",
        COUNT_CAP + 1
    ));
    sql
}
