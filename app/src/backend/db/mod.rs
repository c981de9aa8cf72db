//! One binary, two backends. `Db` holds the pool of whichever backend `DATABASE_URL` chose;
//! repositories take a `Conn` and write each query once inside `dispatch!`, which expands it
//! for both connection types (diesel-async has no multi-backend connection of its own).
//!
//! SQLite gets one writer connection and a pool of readers: SQLite admits one writer at a time
//! anyway, and funnelling writes through one connection (in `BEGIN IMMEDIATE` transactions)
//! means writers queue in Rust instead of spinning on `SQLITE_BUSY`. Readers run in parallel
//! under WAL.

pub mod after_commit;
pub mod backup;
pub mod migrate;
pub mod schema;
pub mod session_store;
pub mod url;

use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures::future::BoxFuture;
use futures::FutureExt;

pub use self::url::{DatabaseUrl, DatabaseUrlError};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
pub type PgConn = AsyncPgConnection;

/// Expands `$body` once per backend with `$c` bound to the concrete connection.
/// `$conn` is a `&mut Conn<'_>`.
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::backend::db::Conn::Sqlite($c) => {
                let $c: &mut $crate::backend::db::SqliteConn = &mut **$c;
                $body
            }
            $crate::backend::db::Conn::Pg($c) => {
                let $c: &mut $crate::backend::db::PgConn = &mut **$c;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// A borrowed connection of either backend, inside or outside a transaction.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConn),
    Pg(&'a mut PgConn),
}

impl Conn<'_> {
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Conn::Sqlite(_))
    }
}

/// A pooled connection; `conn()` lends it out as a `Conn`. It lives briefly on the stack of
/// one request, so the size difference between the variants is not worth an allocation.
#[allow(clippy::large_enum_variant)]
pub enum PooledConn {
    Sqlite(Object<SqliteConn>),
    Pg(Object<PgConn>),
}

impl PooledConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(o) => Conn::Sqlite(&mut *o),
            PooledConn::Pg(o) => Conn::Pg(&mut *o),
        }
    }
}

#[derive(Clone)]
pub enum Db {
    Sqlite {
        read: Pool<SqliteConn>,
        write: Pool<SqliteConn>,
    },
    Postgres(Pool<PgConn>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite { .. } => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(String),
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, DbError::Query(diesel::result::Error::NotFound))
    }

    /// Contention or an unreachable server: worth a "try again", not a bug report.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::SerializationFailure
                        | diesel::result::DatabaseErrorKind::ClosedConnection
                ) || info.message().contains("database is locked")
                    // PostgreSQL `lock_timeout` ran out (SQLSTATE 55P03)
                    || info.message().contains("lock timeout")
                    || info.message().contains("database is busy")
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub name: &'static str,
    pub in_use: usize,
    pub idle: usize,
    pub max: usize,
    pub waiting: usize,
}

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: usize,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create the directory for the SQLite database {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the {backend} database at {url}: {message}")]
    Open {
        backend: &'static str,
        url: String,
        message: String,
    },
}

fn pool_error(e: impl std::fmt::Display) -> DbError {
    DbError::Pool(e.to_string())
}

/// PRAGMAs every SQLite connection gets: WAL so readers never block the writer, a busy timeout
/// for the rare writer from another process (the command line), foreign keys enforced.
/// `optimize` refreshes the query planner's statistics where they are stale (the token table
/// depends on them to choose between its indexes). Reads go through a memory map (up to
/// SQLite's 2 GiB default ceiling, shared by every connection through the page cache): a
/// token-table page walks hundreds of thousands of index entries, and reading them with a
/// system call per page doubled the time.
const SQLITE_SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 2147418112; \
     PRAGMA optimize = 0x10002;";

fn sqlite_manager(path: &str) -> AsyncDieselConnectionManager<SqliteConn> {
    let mut config = ManagerConfig::<SqliteConn>::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_string();
        async move {
            let mut conn = SqliteConn::establish(&url).await?;
            conn.batch_execute(SQLITE_SETUP)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    config.recycling_method = RecyclingMethod::Fast;
    AsyncDieselConnectionManager::new_with_config(path, config)
}

/// deadpool's builder is generic over a manager whose bounds differ per backend; a macro keeps
/// the two call sites identical without restating those bounds.
macro_rules! build_pool {
    ($manager:expr, $size:expr, $timeout:expr) => {
        Pool::builder($manager)
            .max_size($size)
            .wait_timeout(Some($timeout))
            .create_timeout(Some($timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())
    };
}

impl Db {
    /// Opens the pool and checks that one connection really works, so a wrong URL fails at
    /// start-up with a clear message instead of at the first request.
    pub async fn connect(url: &DatabaseUrl, opts: &PoolOptions) -> Result<Db, ConnectError> {
        let open_err = |message: String| ConnectError::Open {
            backend: url.backend_name(),
            url: url.redacted(),
            message,
        };
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| ConnectError::CreateDir {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
                let path = path.to_string_lossy().to_string();
                let readers = opts.max_connections.clamp(2, 64);
                let read = build_pool!(sqlite_manager(&path), readers, opts.acquire_timeout)
                    .map_err(open_err)?;
                let write = build_pool!(sqlite_manager(&path), 1, opts.acquire_timeout)
                    .map_err(open_err)?;
                Db::Sqlite { read, write }
            }
            DatabaseUrl::Postgres(u) => {
                let mut config = ManagerConfig::<PgConn>::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::new_with_config(u.clone(), config);
                Db::Postgres(
                    build_pool!(manager, opts.max_connections, opts.acquire_timeout)
                        .map_err(open_err)?,
                )
            }
        };
        db.ping().await.map_err(|e| open_err(e.to_string()))?;
        // The first write connection creates the file and switches it to WAL.
        if let Db::Sqlite { write, .. } = &db {
            drop(write.get().await.map_err(|e| open_err(e.to_string()))?);
        }
        Ok(db)
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Each pool's connections in use and idle, by pool name (`read`/`write` on SQLite, `main`
    /// on PostgreSQL), for metrics.
    pub fn pool_status(&self) -> Vec<PoolStatus> {
        let status = |name, s: deadpool::Status| PoolStatus {
            name,
            in_use: s.size.saturating_sub(s.available),
            idle: s.available,
            max: s.max_size,
            waiting: s.waiting,
        };
        match self {
            Db::Sqlite { read, write } => vec![
                status("read", read.status()),
                status("write", write.status()),
            ],
            Db::Postgres(pool) => vec![status("main", pool.status())],
        }
    }

    /// A connection for reads (and single-statement writes that need no transaction).
    pub async fn get(&self) -> Result<PooledConn, DbError> {
        Ok(match self {
            Db::Sqlite { read, .. } => PooledConn::Sqlite(read.get().await.map_err(pool_error)?),
            Db::Postgres(pool) => PooledConn::Pg(pool.get().await.map_err(pool_error)?),
        })
    }

    /// The connection writes go through (on PostgreSQL, any pooled connection).
    pub async fn get_writer(&self) -> Result<PooledConn, DbError> {
        Ok(match self {
            Db::Sqlite { write, .. } => PooledConn::Sqlite(write.get().await.map_err(pool_error)?),
            Db::Postgres(pool) => PooledConn::Pg(pool.get().await.map_err(pool_error)?),
        })
    }

    /// Runs `f` in one transaction: everything it wrote is committed together, or nothing is
    /// (the error is returned after rollback). SQLite uses `BEGIN IMMEDIATE` so the write lock
    /// is taken up front: rules checked inside (caps, uniqueness) cannot be raced.
    pub async fn transaction<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: for<'r> FnOnce(&'r mut Conn<'_>) -> BoxFuture<'r, Result<R, E>> + Send,
        E: From<DbError> + From<diesel::result::Error> + Send,
        R: Send,
    {
        // Work queued with `after_commit::after_commit` (audit log lines) runs only once the
        // transaction has committed.
        after_commit::collect(async move {
            match self {
                Db::Sqlite { write, .. } => {
                    let mut obj = write.get().await.map_err(|e| E::from(pool_error(e)))?;
                    obj.immediate_transaction(async move |c| {
                        let mut conn = Conn::Sqlite(c);
                        f(&mut conn).await
                    })
                    .await
                }
                Db::Postgres(pool) => {
                    let mut obj = pool.get().await.map_err(|e| E::from(pool_error(e)))?;
                    obj.transaction(async move |c| {
                        let mut conn = Conn::Pg(c);
                        f(&mut conn).await
                    })
                    .await
                }
            }
        })
        .await
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        let mut pooled = self.get().await?;
        let mut conn = pooled.conn();
        dispatch!(&mut conn, |c| c.batch_execute("SELECT 1").await)?;
        Ok(())
    }

    /// Refreshes the query planner's statistics (PostgreSQL's autovacuum does this by itself;
    /// SQLite needs asking). Cheap when nothing changed much.
    pub async fn optimize(&self, full: bool) -> Result<(), DbError> {
        let mut pooled = self.get_writer().await?;
        let mut conn = pooled.conn();
        match (&mut conn, full) {
            (Conn::Sqlite(c), false) => c.batch_execute("PRAGMA optimize").await?,
            (Conn::Sqlite(c), true) => c.batch_execute("ANALYZE").await?,
            // VACUUM too: index-only scans (the token table's pages) need the visibility map
            // it sets after a bulk load.
            (Conn::Pg(c), true) => c.batch_execute("VACUUM (ANALYZE)").await?,
            (Conn::Pg(_), false) => {}
        }
        Ok(())
    }

    /// Closes the pools (graceful shutdown).
    pub fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close();
                write.close();
            }
            Db::Postgres(pool) => pool.close(),
        }
    }
}
