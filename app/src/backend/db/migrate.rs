//! Embedded migrations, one folder per backend with identical version names. They run at
//! start-up and through `keyward migrate`; running them again is a no-op.

use diesel::migration::MigrationVersion;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DatabaseUrl, PgConn, SqliteConn};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Arbitrary, fixed key for the PostgreSQL advisory lock that keeps several processes
/// starting at once from running the same migration twice.
const MIGRATION_LOCK_KEY: i64 = 0x006b_6579_7761_7264; // "keyward"

#[derive(Debug, thiserror::Error)]
#[error("database migration failed: {0}")]
pub struct MigrationError(String);

/// Applies every pending migration; returns the versions applied now (empty when up to date).
/// Needs a multi-threaded Tokio runtime (diesel's migration harness is synchronous).
pub async fn run(url: &DatabaseUrl) -> Result<Vec<String>, MigrationError> {
    let err = |e: &dyn std::fmt::Display| MigrationError(e.to_string());
    match url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| err(&e))?;
            }
            let mut conn = SqliteConn::establish(&path.to_string_lossy())
                .await
                .map_err(|e| err(&e))?;
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
            )
            .await
            .map_err(|e| err(&e))?;
            conn.spawn_blocking(|c| {
                Ok(c.run_pending_migrations(SQLITE)
                    .map(versions)
                    .map_err(|e| e.to_string()))
            })
            .await
            .map_err(|e| err(&e))?
            .map_err(MigrationError)
        }
        DatabaseUrl::Postgres(u) => {
            let mut conn = PgConn::establish(u).await.map_err(|e| err(&e))?;
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .await
                .map_err(|e| err(&e))?;
            drop_invalid_list_indexes(&mut conn)
                .await
                .map_err(|e| err(&e))?;
            let mut harness = AsyncMigrationHarness::new(conn);
            let result = harness
                .run_pending_migrations(POSTGRES)
                .map(versions)
                .map_err(|e| MigrationError(e.to_string()));
            let mut conn = harness.into_inner();
            // The lock is also released when the connection closes, which happens right after.
            let _ = conn
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .await;
            result
        }
    }
}

/// An interrupted `CREATE INDEX CONCURRENTLY` (the token-table list indexes are built so)
/// leaves an invalid index behind, which the migration's `IF NOT EXISTS` would then skip for
/// good: drop such leftovers so the pending migration builds them again.
async fn drop_invalid_list_indexes(conn: &mut PgConn) -> diesel::QueryResult<()> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Invalid {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let invalid: Vec<Invalid> = diesel::sql_query(
        "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE NOT i.indisvalid AND c.relname LIKE 'tokens\\_list\\_%'",
    )
    .load(conn)
    .await?;
    for index in invalid {
        tracing::warn!(index = %index.name, "dropping an index left invalid by an interrupted build; the migration rebuilds it");
        // The name comes from the catalog and matched the pattern above.
        conn.batch_execute(&format!(
            "DROP INDEX CONCURRENTLY IF EXISTS \"{}\"",
            index.name
        ))
        .await?;
    }
    Ok(())
}

fn versions(applied: Vec<MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}
