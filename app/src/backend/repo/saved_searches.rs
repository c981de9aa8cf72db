use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{saved_searches, users};
use crate::backend::db::{dispatch, Conn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = saved_searches)]
pub struct SavedSearchRow {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub query: String,
    pub shared: bool,
    pub created_at: i64,
}

pub async fn insert(
    conn: &mut Conn<'_>,
    owner_id: i64,
    name: &str,
    query: &str,
    shared: bool,
    now: i64,
) -> QueryResult<SavedSearchRow> {
    dispatch!(conn, |c| diesel::insert_into(saved_searches::table)
        .values((
            saved_searches::owner_id.eq(owner_id),
            saved_searches::name.eq(name),
            saved_searches::query.eq(query),
            saved_searches::shared.eq(shared),
            saved_searches::created_at.eq(now),
        ))
        .returning(SavedSearchRow::as_returning())
        .get_result(c)
        .await)
}

/// The caller's own searches and everyone's shared ones, with the owner's e-mail.
pub async fn visible_to(
    conn: &mut Conn<'_>,
    user_id: i64,
) -> QueryResult<Vec<(SavedSearchRow, String)>> {
    dispatch!(conn, |c| saved_searches::table
        .inner_join(users::table)
        .filter(
            saved_searches::owner_id
                .eq(user_id)
                .or(saved_searches::shared.eq(true))
        )
        .order((saved_searches::name.asc(), saved_searches::id.asc()))
        .select((SavedSearchRow::as_select(), users::email))
        .load(c)
        .await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<SavedSearchRow>> {
    dispatch!(conn, |c| saved_searches::table
        .find(id)
        .select(SavedSearchRow::as_select())
        .first(c)
        .await
        .optional())
}

pub async fn delete(conn: &mut Conn<'_>, id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(saved_searches::table.find(id))
        .execute(c)
        .await)
}
