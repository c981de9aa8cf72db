//! Queries of the organisation-wide token table. Filters and sorts work on the token row alone
//! (owner name, role and disabled state are copied onto it) through covering indexes, one per
//! sort column. Each engine has its own module that writes a page, with its rows and its
//! capped count, as one statement: `sqlite.rs` and `postgres.rs`; `filter.rs` holds what
//! they share.

pub mod filter;
mod postgres;
mod sqlite;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel_async::RunQueryDsl;

use filter::{push_conditions, Sql, PAGE_COLUMNS};
pub use filter::{Dialect, TableFilter};

use super::tokens::{TokenRow, TokenWithOwner};
use crate::backend::db::Conn;
use crate::domain::token_query::{SortColumn, COUNT_CAP};

/// One page of the table: what to match, how to order, which slice.
#[derive(Debug, Clone)]
pub struct TableQuery {
    pub filter: TableFilter,
    pub sort: SortColumn,
    pub desc: bool,
    pub offset: i64,
    pub limit: i64,
}

impl TableQuery {
    /// Whether the search is long enough for the trigram index (3+ characters).
    fn trigram_search(&self) -> bool {
        self.filter
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() >= 3)
    }

    /// The sort key of a token row (`prefix` qualifies the columns).
    fn key(&self, prefix: &str) -> String {
        match filter::sort_key(self.sort, self.desc) {
            Some((column, _)) => format!("{prefix}{column}"),
            None => filter::status_rank(self.filter.now, prefix),
        }
    }

    fn dir(&self) -> &'static str {
        if self.desc {
            " DESC"
        } else {
            ""
        }
    }
}

/// A page's rows in table order, and how many rows match, counted up to `COUNT_CAP + 1`.
pub struct TablePage {
    pub rows: Vec<TokenWithOwner>,
    pub matches: i64,
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(embed)]
    token: TokenRow,
    #[diesel(sql_type = Nullable<Text>)]
    sa_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    sa_role: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sa_disabled_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sa_deleted_at: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    sa_can_introspect: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    u_email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    u_display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    u_role: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    u_deactivated_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    u_removed_at: Option<i64>,
    #[diesel(sql_type = BigInt)]
    matches: i64,
}

impl PageRow {
    fn into_token(self) -> TokenWithOwner {
        let sa = match (self.sa_name, self.sa_role) {
            (Some(name), Some(role)) => Some((
                name,
                role,
                self.sa_disabled_at,
                self.sa_deleted_at,
                self.sa_can_introspect.unwrap_or(false),
            )),
            _ => None,
        };
        let user = match (self.u_email, self.u_display_name, self.u_role) {
            (Some(email), Some(display_name), Some(role)) => Some((
                email,
                display_name,
                role,
                self.u_deactivated_at,
                self.u_removed_at,
            )),
            _ => None,
        };
        (self.token, sa, user)
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    matches: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Runs a written statement, binding its strings in order.
macro_rules! run {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let sql: Sql = $sql;
        match $conn {
            Conn::Sqlite(c) => {
                let mut q = diesel::sql_query(sql.text).into_boxed::<diesel::sqlite::Sqlite>();
                for b in sql.binds {
                    q = q.bind::<Text, _>(b);
                }
                q.load::<$row>(&mut **c).await
            }
            Conn::Pg(c) => {
                let mut q = diesel::sql_query(sql.text).into_boxed::<diesel::pg::Pg>();
                for b in sql.binds {
                    q = q.bind::<Text, _>(b);
                }
                q.load::<$row>(&mut **c).await
            }
        }
    }};
}

fn dialect(conn: &Conn<'_>) -> Dialect {
    if conn.is_sqlite() {
        Dialect::Sqlite
    } else {
        Dialect::Postgres
    }
}

/// One page and the capped count of matches, in one statement. A page that starts past the
/// first `COUNT_CAP` matches is empty: the table pages through those only (see `COUNT_CAP`).
pub async fn page(conn: &mut Conn<'_>, q: &TableQuery) -> QueryResult<TablePage> {
    let q = TableQuery {
        limit: q.limit.min(COUNT_CAP - q.offset).max(0),
        ..q.clone()
    };
    let sql = match dialect(conn) {
        Dialect::Sqlite => sqlite::page(&q),
        Dialect::Postgres => postgres::page(&q),
    };
    let rows = if q.limit > 0 {
        run!(conn, sql, PageRow)?
    } else {
        Vec::new()
    };
    let matches = match rows.as_slice().first() {
        Some(row) => row.matches,
        // No row carries the count: an empty table, or a page past the end.
        None if q.offset == 0 && q.limit > 0 => 0,
        None => {
            let sql = match dialect(conn) {
                Dialect::Sqlite => sqlite::count(&q),
                Dialect::Postgres => postgres::count(&q),
            };
            let counts = run!(conn, sql, Count)?;
            counts.as_slice().first().map(|c| c.matches).unwrap_or(0)
        }
    };
    Ok(TablePage {
        rows: rows.into_iter().map(PageRow::into_token).collect(),
        matches,
    })
}

/// How many tokens match, counting no further than `cap` (the bulk-revoke button's count:
/// counting every match of a broad filter over a million rows would cost more than the page).
pub async fn count_capped(conn: &mut Conn<'_>, f: &TableFilter, cap: i64) -> QueryResult<i64> {
    let mut sql = Sql::new(dialect(conn));
    let access = filter::Access::for_filter(f);
    sql.push("SELECT count(*) AS matches FROM (SELECT 1 FROM tokens ");
    if sql.dialect == Dialect::Sqlite {
        sql.push(&format!("INDEXED BY {} ", access.index()));
    }
    sql.push("WHERE ");
    push_conditions(&mut sql, f, true, Some(access));
    sql.push(&format!(" LIMIT {cap}) capped"));
    let counts = run!(conn, sql, Count)?;
    Ok(counts.as_slice().first().map(|c| c.matches).unwrap_or(0))
}

/// Every matching id, in id order (bulk revoke: exact, uncapped).
pub async fn all_ids(conn: &mut Conn<'_>, f: &TableFilter) -> QueryResult<Vec<i64>> {
    let mut sql = Sql::new(dialect(conn));
    sql.push("SELECT id FROM tokens WHERE ");
    push_conditions(&mut sql, f, true, None);
    sql.push(" ORDER BY id");
    Ok(run!(conn, sql, Id)?.into_iter().map(|r| r.id).collect())
}

/// Up to `limit` matching tokens with their owners, in id order (the CSV export, which pages
/// by `TableFilter::after_id`).
pub async fn rows_in_id_order(
    conn: &mut Conn<'_>,
    f: &TableFilter,
    limit: i64,
) -> QueryResult<Vec<TokenWithOwner>> {
    let mut sql = Sql::new(dialect(conn));
    sql.push(&format!(
        "SELECT {PAGE_COLUMNS}, CAST(0 AS BIGINT) AS matches FROM tokens t \
         LEFT JOIN service_accounts sa ON sa.id = t.service_account_id \
         LEFT JOIN users u ON u.id = t.user_id WHERE t.id IN (SELECT id FROM tokens WHERE "
    ));
    push_conditions(&mut sql, f, true, None);
    sql.push(&format!(" ORDER BY id LIMIT {limit}) ORDER BY t.id"));
    Ok(run!(conn, sql, PageRow)?
        .into_iter()
        .map(PageRow::into_token)
        .collect())
}

/// Tokens with their owners, for the given ids (any order).
pub async fn rows_by_ids(conn: &mut Conn<'_>, ids: &[i64]) -> QueryResult<Vec<TokenWithOwner>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(dialect(conn));
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    sql.push(&format!(
        "SELECT {PAGE_COLUMNS}, CAST(0 AS BIGINT) AS matches FROM tokens t \
         LEFT JOIN service_accounts sa ON sa.id = t.service_account_id \
         LEFT JOIN users u ON u.id = t.user_id WHERE t.id IN ({})",
        list.join(", ")
    ));
    Ok(run!(conn, sql, PageRow)?
        .into_iter()
        .map(PageRow::into_token)
        .collect())
}

/// The statement `page` runs for `q` on `dialect`, with its bound strings (for EXPLAIN in
/// tests and when investigating a slow view).
pub fn page_statement(dialect: Dialect, q: &TableQuery) -> (String, Vec<String>) {
    let sql = match dialect {
        Dialect::Sqlite => sqlite::page(q),
        Dialect::Postgres => postgres::page(q),
    };
    (sql.text, sql.binds)
}
