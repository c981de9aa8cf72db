//! Backup and restore of the SQLite database (PostgreSQL has `pg_dump` for that).
//!
//! A backup is `VACUUM INTO` on one of the server's own read connections: SQLite writes a
//! consistent snapshot (one read transaction, so writers carry on under WAL) into a file
//! created beforehand with mode 0600, so it is never readable by others, even half-written.
//!
//! A restore checks a copy before anything is replaced: a SQLite file, a Keyward schema no
//! newer than this binary's, an intact database, and the key fingerprint the server stored
//! at its first start equal to the configured key's (with another key every token would be
//! rejected). Only then is the live database checkpointed and replaced by `rename`, which
//! is atomic: a crash leaves either the old database or the new one, never a mixture.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use diesel::migration::MigrationSource;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::MigrationHarness;

use super::migrate::{self, MigrationError};
use super::{Conn, DatabaseUrl, Db, SqliteConn};
use crate::backend::crypto::ServerKey;
use crate::backend::repo::settings;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The tables every Keyward database has had since its first migration.
const KEYWARD_TABLES: [&str; 4] = [
    "__diesel_schema_migrations",
    "settings",
    "service_accounts",
    "tokens",
];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("`keyward backup` copies the SQLite database; this server uses PostgreSQL. Back it up with pg_dump (e.g. `pg_dump --format=custom --file=keyward.dump \"$DATABASE_URL\"`) and keep the secret key (KEYWARD_SECRET_KEY) too, stored apart: without it no token in the dump can be verified")]
    Postgres,
    #[error("{path} already exists: a backup never overwrites a file. Choose a new name or remove the old file first")]
    Exists { path: String },
    #[error("cannot create the backup file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the backup into {path} failed: {message}")]
    Sqlite { path: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("`keyward restore` replaces a SQLite database; this server uses PostgreSQL. Restore a pg_dump with pg_restore (and start with the secret key the dump was made with)")]
    Postgres,
    #[error("cannot read the backup {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a SQLite database (is it a `keyward backup` file?)")]
    NotSqlite { path: String },
    #[error("{path} is a SQLite database but not Keyward's (it lacks the table `{table}`)")]
    NotKeyward { path: String, table: String },
    #[error("{path} is damaged: {detail}")]
    Damaged { path: String, detail: String },
    #[error("{path} was written by a newer Keyward (migration {version} is unknown to this one): restore it with that version or a later one")]
    Newer { path: String, version: String },
    #[error("{path} has no key fingerprint, so the key cannot be checked; start a server on it once (which records the fingerprint), then back it up with `keyward backup`")]
    NoFingerprint { path: String },
    #[error("the backup was made with a different secret key (its fingerprint is {backup}, the configured key's is {configured}): every token in it would be rejected. Configure the key of the server it came from (KEYWARD_SECRET_KEY, KEYWARD_SECRET_KEY_FILE or its data directory's secret.key). Nothing was changed")]
    KeyMismatch { backup: String, configured: String },
    #[error("the database {path} is in use (is the server running?): stop every Keyward process on it, then restore. Nothing was changed")]
    InUse { path: String },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the backup {path}: {message}")]
    Open { path: String, message: String },
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

/// Writes a consistent copy of the database to `dest`, a new file (mode 0600); returns its
/// size in bytes. The server may be serving and writing meanwhile.
pub async fn backup(db: &Db, dest: &Path) -> Result<u64, BackupError> {
    let shown = dest.display().to_string();
    let Db::Sqlite { .. } = db else {
        return Err(BackupError::Postgres);
    };
    // SQLite would create the file with the process's umask; an empty file made here first
    // (VACUUM INTO accepts an empty target) keeps the owner-only mode from the first byte.
    create_private(dest).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists {
            path: shown.clone(),
        },
        _ => BackupError::Create {
            path: shown.clone(),
            source,
        },
    })?;
    let result = vacuum_into(db, dest).await;
    if let Err(message) = result {
        let _ = std::fs::remove_file(dest);
        return Err(BackupError::Sqlite {
            path: shown,
            message,
        });
    }
    // VACUUM INTO does not sync its output: a backup must survive a power cut after success.
    let synced = std::fs::File::open(dest).and_then(|f| {
        f.sync_all()?;
        f.metadata()
    });
    match synced {
        Ok(meta) => Ok(meta.len()),
        Err(e) => {
            let _ = std::fs::remove_file(dest);
            Err(BackupError::Sqlite {
                path: shown,
                message: e.to_string(),
            })
        }
    }
}

async fn vacuum_into(db: &Db, dest: &Path) -> Result<(), String> {
    let target = dest
        .to_str()
        .ok_or("the backup path is not valid UTF-8")?
        .to_string();
    // A reader connection: VACUUM INTO reads one snapshot and never takes the write lock.
    let mut pooled = db.get().await.map_err(|e| e.to_string())?;
    match pooled.conn() {
        Conn::Sqlite(c) => diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(target)
            .execute(c)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Conn::Pg(_) => Err("not a SQLite database".into()),
    }
}

/// Replaces the SQLite database at `target` with the backup at `source`, after checking it
/// against `key`, then applies pending migrations (returned). Every Keyward process on
/// `target` must be stopped; one that is caught holding it makes this fail unchanged.
pub async fn restore(
    url: &DatabaseUrl,
    source: &Path,
    key: &ServerKey,
) -> Result<Vec<String>, RestoreError> {
    let DatabaseUrl::Sqlite(target) = url else {
        return Err(RestoreError::Postgres);
    };
    let dir = match target.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    };
    check_header(source)?;
    // The checks run on a private copy beside the target, which is also what gets renamed:
    // the file checked is the file installed, whatever happens to `source` meanwhile.
    let staged = Staged::copy(source, &dir)?;
    let shown = source.display().to_string();
    let fingerprint = inspect(&staged.path, &shown).await?;
    let configured = key.fingerprint();
    if fingerprint != configured {
        return Err(RestoreError::KeyMismatch {
            backup: fingerprint,
            configured,
        });
    }
    if target.exists() {
        quiesce(target).await?;
    } else {
        // The database was deleted but its log may not have been.
        remove_side_files(target)?;
    }
    staged.install(target, &dir)?;
    Ok(migrate::run(url).await?)
}

fn check_header(path: &Path) -> Result<(), RestoreError> {
    let shown = path.display().to_string();
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::UnexpectedEof => RestoreError::NotSqlite {
                path: shown.clone(),
            },
            _ => RestoreError::Read {
                path: shown.clone(),
                source,
            },
        })?;
    if &header != SQLITE_MAGIC {
        return Err(RestoreError::NotSqlite { path: shown });
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Checks the staged copy is an intact Keyward database this binary can migrate; returns the
/// key fingerprint it holds. `shown` names the backup in messages.
async fn inspect(path: &Path, shown: &str) -> Result<String, RestoreError> {
    let open = |message: String| RestoreError::Open {
        path: shown.to_string(),
        message,
    };
    let mut conn = SqliteConn::establish(&path.to_string_lossy())
        .await
        .map_err(|e| open(e.to_string()))?;
    for table in KEYWARD_TABLES {
        let found: Count = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?",
        )
        .bind::<Text, _>(table)
        .get_result(&mut conn)
        .await
        .map_err(|e| open(e.to_string()))?;
        if found.n == 0 {
            return Err(RestoreError::NotKeyward {
                path: shown.to_string(),
                table: table.to_string(),
            });
        }
    }
    let check: Vec<Line> = diesel::sql_query("SELECT quick_check AS line FROM pragma_quick_check")
        .load(&mut conn)
        .await
        .map_err(|e| open(e.to_string()))?;
    if check.len() != 1 || check[0].line != "ok" {
        return Err(RestoreError::Damaged {
            path: shown.to_string(),
            detail: check
                .into_iter()
                .map(|l| l.line)
                .take(3)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let applied = conn
        .spawn_blocking(|c| {
            Ok(c.applied_migrations()
                .map(|v| v.into_iter().map(|v| v.to_string()).collect::<Vec<_>>())
                .map_err(|e| e.to_string()))
        })
        .await
        .map_err(|e| open(e.to_string()))?
        .map_err(open)?;
    let known: Vec<String> = MigrationSource::<Sqlite>::migrations(&migrate::SQLITE)
        .map_err(|e| open(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    if let Some(version) = applied.into_iter().find(|v| !known.contains(v)) {
        return Err(RestoreError::Newer {
            path: shown.to_string(),
            version,
        });
    }
    settings::get(&mut Conn::Sqlite(&mut conn), settings::KEY_FINGERPRINT)
        .await
        .map_err(|e| open(e.to_string()))?
        .ok_or_else(|| RestoreError::NoFingerprint {
            path: shown.to_string(),
        })
}

/// Makes sure nothing else has `target` open, and folds its write-ahead log into the file so
/// the `-wal` left beside it cannot be replayed onto the restored database. Leaving WAL mode
/// needs the only connection: a running server keeps its own open, so this fails with
/// "database is locked" while one runs.
async fn quiesce(target: &Path) -> Result<(), RestoreError> {
    let shown = target.display().to_string();
    let in_use = || RestoreError::InUse {
        path: shown.clone(),
    };
    let mut conn = SqliteConn::establish(&target.to_string_lossy())
        .await
        .map_err(|e| RestoreError::Open {
            path: shown.clone(),
            message: e.to_string(),
        })?;
    conn.batch_execute("PRAGMA busy_timeout = 1000")
        .await
        .map_err(|_| in_use())?;
    let mode: Vec<JournalMode> = diesel::sql_query("PRAGMA journal_mode = DELETE")
        .load(&mut conn)
        .await
        .map_err(|_| in_use())?;
    if !matches!(mode.as_slice(), [m] if m.journal_mode == "delete") {
        return Err(in_use());
    }
    drop(conn);
    remove_side_files(target)
}

/// A database's `-wal`, `-shm` and `-journal`: left beside the restored file, SQLite would
/// replay an old log onto it at the next open.
fn remove_side_files(target: &Path) -> Result<(), RestoreError> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = side_file(target, suffix);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(RestoreError::Io {
                    what: "remove",
                    path: side.display().to_string(),
                    source,
                })
            }
        }
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A private copy of the backup in the target's directory (so `rename` stays on one file
/// system); removed again unless installed.
struct Staged {
    path: PathBuf,
    installed: bool,
}

impl Staged {
    fn copy(source: &Path, dir: &Path) -> Result<Staged, RestoreError> {
        let name = format!(
            ".keyward-restore-{}.db",
            crate::backend::crypto::random_base62(12)
        );
        let staged = Staged {
            path: dir.join(name),
            installed: false,
        };
        let io = |what, path: &Path| {
            let path = path.display().to_string();
            move |source| RestoreError::Io { what, path, source }
        };
        let mut from = std::fs::File::open(source).map_err(|e| RestoreError::Read {
            path: source.display().to_string(),
            source: e,
        })?;
        let mut to = create_private(&staged.path).map_err(io("create", &staged.path))?;
        std::io::copy(&mut from, &mut to).map_err(io("write", &staged.path))?;
        to.flush().map_err(io("write", &staged.path))?;
        to.sync_all().map_err(io("sync", &staged.path))?;
        Ok(staged)
    }

    /// Side files SQLite may have made while the copy was inspected (a backup taken with `cp`
    /// is still in WAL mode): they belong to the staged name, not the target's.
    fn remove_side_files(&self) {
        for suffix in ["-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(side_file(&self.path, suffix));
        }
    }

    fn install(mut self, target: &Path, dir: &Path) -> Result<(), RestoreError> {
        self.remove_side_files();
        std::fs::rename(&self.path, target).map_err(|source| RestoreError::Io {
            what: "replace",
            path: target.display().to_string(),
            source,
        })?;
        self.installed = true;
        // The rename itself is durable only once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.installed {
            let _ = std::fs::remove_file(&self.path);
            self.remove_side_files();
        }
    }
}

/// A new file only its owner may read or write; fails if the path exists.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
