//! `keyward dev seed`: fills a database with realistic data for demos and benchmarks:
//! service accounts and people, and tokens of every kind and status, with creation times over
//! two years and last uses over the last one. With a secrets sink (`--secrets-out`) every
//! token gets a real secret, written there one per line, and the stored hash is the server
//! key's, so the tokens work against a server using the same database and key; without one the
//! stored hashes are random and the tokens cannot be used.
//!
//! Speed (a million tokens in about a minute): everything is one transaction. Before the
//! tokens go in, the secondary indexes of `tokens` are read from the catalog and dropped, with
//! the triggers that feed SQLite's full-text index and PostgreSQL's foreign-key checks; after
//! the last row they are rebuilt as they were, one pass each, which is several times faster
//! than maintaining them row by row. Nothing is hard-coded: whatever the migrations define comes
//! back. If anything fails, the rollback restores them. The rows are generated on a thread of
//! their own while the previous batch is written. The index rebuild takes exclusive locks and
//! the data is appended to whatever is there: this is for an idle development database, never
//! for production.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Bool, Nullable, Text};
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use rand::rngs::{OsRng, StdRng};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use tokio::sync::mpsc;

use super::crypto::ServerKey;
use super::db::schema::{service_accounts, tokens, users};
use super::db::{dispatch, Conn, Db, DbError, PgConn, PooledConn};
use crate::domain::limits::DAY_SECS;
use crate::domain::names::token_search_text;
use crate::domain::token_format::{display_prefix, TokenKind, BASE62, PUBLIC_ID_LEN};

const WORDS: [&str; 24] = [
    "payments",
    "billing",
    "search",
    "ingest",
    "reports",
    "mailer",
    "backup",
    "metrics",
    "deploy",
    "gateway",
    "ledger",
    "catalog",
    "checkout",
    "identity",
    "storage",
    "scheduler",
    "analytics",
    "notify",
    "pricing",
    "shipping",
    "inventory",
    "auth",
    "exports",
    "webhooks",
];
const TOKEN_WORDS: [&str; 12] = [
    "deploy",
    "ci",
    "backup",
    "metrics",
    "sync",
    "cron",
    "terraform",
    "monitoring",
    "release",
    "nightly",
    "import",
    "readonly",
];
const DESCRIPTIONS: [&str; 6] = [
    "Used by the GitHub Actions pipeline",
    "Nightly export to the data warehouse",
    "Grafana datasource",
    "Terraform state refresh",
    "Temporary token for the migration",
    "On-call debugging",
];

/// Tokens per statement (PostgreSQL) or per trip to SQLite's blocking thread, and per batch
/// handed over by the generator thread.
const BATCH: usize = 10_000;
/// Owners per statement.
const OWNER_BATCH: usize = 1_000;

/// SQLite settings for the seed's connection only, restored afterwards: no fsync (an
/// interrupted seed is rolled back or thrown away anyway), a page cache big enough to build the
/// indexes in memory, a helper thread for their sorts, and no memory map. A new database's
/// pages all lie past the end of the mapped file until the commit; with the map on, the
/// full-text build's segment merges ran 5–17× slower (200,000 tokens: 141 s instead of 8 s;
/// a million did not finish in 24 minutes). BENCHMARKS.md, "Seeding".
const SQLITE_BULK: &str = "PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; \
     PRAGMA temp_store = MEMORY; PRAGMA threads = 2; PRAGMA mmap_size = 0;";
/// What every connection has otherwise (see `db::SQLITE_SETUP`).
const SQLITE_NORMAL: &str = "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000; \
     PRAGMA temp_store = DEFAULT; PRAGMA threads = 0; PRAGMA mmap_size = 2147418112;";

/// The steps of a seed, in order, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Owners,
    Tokens,
    Indexes,
    Analyze,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Owners => "owners",
            Phase::Tokens => "tokens",
            Phase::Indexes => "indexes",
            Phase::Analyze => "analyze",
        }
    }
}

/// Receives the progress of a seed: each phase starts with its number of steps, reports how
/// many are done, and finishes.
pub trait SeedProgress: Send {
    fn start(&mut self, phase: Phase, total: u64);
    fn update(&mut self, done: u64);
    fn finish(&mut self);
}

/// Where the real secrets go, one per line.
pub type SecretsSink = Box<dyn Write + Send>;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub tokens: usize,
    pub owners: usize,
    pub seed: u64,
    /// Every token usable (benchmarks of verification): no revoked or expired token, no
    /// address allow-list, no disabled owner. The dates and names stay as varied.
    pub all_live: bool,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub service_accounts: usize,
    pub users: usize,
    pub tokens: usize,
}

/// A failed seed (everything it wrote is rolled back). The messages are for the developer who
/// ran it: the database's own words, unlike the generic message `AppError` shows users.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("cannot write the secrets: {0}")]
    Secrets(std::io::Error),
    #[error("the token generator failed to start or stopped before the end")]
    Generator,
}

#[derive(Insertable)]
#[diesel(table_name = service_accounts)]
#[diesel(treat_none_as_default_value = false)]
struct NewAccount {
    name: String,
    role: &'static str,
    disabled_at: Option<i64>,
    created_at: i64,
    created_by_label: &'static str,
    updated_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
struct NewUser {
    email: String,
    role: &'static str,
    deactivated_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = tokens)]
#[diesel(treat_none_as_default_value = false)]
struct SeedToken {
    public_id: String,
    kind: &'static str,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    name: String,
    description: String,
    display_prefix: String,
    secret_hash: Vec<u8>,
    created_at: i64,
    created_by_label: &'static str,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    last_used_user_agent: Option<&'static str>,
    revoked_at: Option<i64>,
    revoked_by_label: Option<&'static str>,
    revoke_reason: Option<&'static str>,
    allowed_cidrs: &'static str,
    owner_name: String,
    owner_role: &'static str,
    owner_disabled: bool,
    search_text: String,
}

struct Owner {
    kind: TokenKind,
    id: i64,
    name: String,
    role: &'static str,
    disabled: bool,
}

fn pick_role(rng: &mut StdRng) -> &'static str {
    match rng.gen_range(0..100) {
        0..=39 => "viewer",
        40..=74 => "deployment",
        75..=94 => "power_user",
        _ => "admin",
    }
}

/// The owners to create: nine in ten service accounts, the rest people.
fn plan_owners(
    rng: &mut StdRng,
    owners: usize,
    now: i64,
    all_live: bool,
) -> (Vec<NewAccount>, Vec<NewUser>) {
    let owners_total = owners.max(1);
    let n_users = (owners_total / 10).max(if owners_total > 1 { 1 } else { 0 });
    let n_accounts = owners_total - n_users;
    let run = super::crypto::random_base62(4).to_lowercase();
    let accounts = (0..n_accounts)
        .map(|i| {
            let role = pick_role(rng);
            let disabled = rng.gen_ratio(1, 20) && !all_live;
            let created = now - rng.gen_range(400..900) * DAY_SECS;
            NewAccount {
                name: format!("svc_{}_{run}_{i:06}", WORDS[i % WORDS.len()]),
                role,
                disabled_at: disabled.then_some(now - DAY_SECS),
                created_at: created,
                created_by_label: "dev seed",
                updated_at: created,
            }
        })
        .collect();
    let users = (0..n_users)
        .map(|i| {
            let role = if rng.gen_ratio(1, 10) {
                "power_user"
            } else if rng.gen_bool(0.5) {
                "deployment"
            } else {
                "viewer"
            };
            NewUser {
                email: format!("user{i:06}.{run}@example.com"),
                role,
                deactivated_at: (rng.gen_ratio(1, 20) && !all_live).then_some(now - DAY_SECS),
                created_at: now - 500 * DAY_SECS,
                updated_at: now - 500 * DAY_SECS,
            }
        })
        .collect();
    (accounts, users)
}

/// Seeds `opts.owners` owners holding `opts.tokens` tokens, in one transaction, then refreshes
/// the planner's statistics. With `secrets`, the tokens are real and their secrets go there.
pub async fn seed(
    db: &Db,
    key: Arc<ServerKey>,
    opts: &SeedOptions,
    secrets: Option<SecretsSink>,
    progress: &mut dyn SeedProgress,
) -> Result<SeedReport, SeedError> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let now = crate::domain::timefmt::now();
    let (accounts, users) = plan_owners(&mut rng, opts.owners, now, opts.all_live);
    let mut report = SeedReport {
        service_accounts: accounts.len(),
        users: users.len(),
        tokens: 0,
    };
    let job = Job {
        rng,
        now,
        accounts,
        users,
        tokens: opts.tokens,
        all_live: opts.all_live,
        key,
        secrets,
    };
    let mut pooled = db.get_writer().await?;
    report.tokens = match &mut pooled {
        PooledConn::Sqlite(c) => {
            c.batch_execute(SQLITE_BULK).await?;
            let p = &mut *progress;
            let filled = c
                .immediate_transaction(async move |c| job.run(&mut Conn::Sqlite(c), p).await)
                .await;
            let analyzed = match filled {
                Ok(n) => analyze(&mut pooled.conn(), progress).await.map(|()| n),
                Err(e) => Err(e),
            };
            let restored = dispatch!(&mut pooled.conn(), |c| c.batch_execute(SQLITE_NORMAL).await);
            let n = analyzed?;
            restored?;
            n
        }
        PooledConn::Pg(c) => {
            let p = &mut *progress;
            let n = c
                .transaction(async move |c| job.run(&mut Conn::Pg(c), p).await)
                .await?;
            analyze(&mut pooled.conn(), progress).await?;
            n
        }
    };
    Ok(report)
}

/// Refreshes the query planner's statistics (and on PostgreSQL the visibility map) for the new
/// data.
async fn analyze(conn: &mut Conn<'_>, progress: &mut dyn SeedProgress) -> Result<(), SeedError> {
    progress.start(Phase::Analyze, 1);
    match conn {
        // The checkpoint moves the seed out of the write-ahead log (and truncates it).
        Conn::Sqlite(c) => {
            c.batch_execute("ANALYZE; PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
                .await?
        }
        // VACUUM as well: it marks the new pages all-visible, without which every index-only
        // scan of the token table still reads the table (p50 74 ms instead of a few; one second
        // at a million tokens). One statement: VACUUM refuses to run in a transaction block.
        Conn::Pg(c) => {
            c.batch_execute("VACUUM (ANALYZE) tokens, service_accounts, users")
                .await?
        }
    }
    progress.update(1);
    progress.finish();
    Ok(())
}

/// What the transaction does.
struct Job {
    rng: StdRng,
    now: i64,
    accounts: Vec<NewAccount>,
    users: Vec<NewUser>,
    tokens: usize,
    all_live: bool,
    key: Arc<ServerKey>,
    secrets: Option<SecretsSink>,
}

impl Job {
    async fn run(
        self,
        conn: &mut Conn<'_>,
        progress: &mut dyn SeedProgress,
    ) -> Result<usize, SeedError> {
        if let Conn::Pg(c) = conn {
            // Memory and a helper process for the index builds, for this transaction only.
            c.batch_execute(
                "SET LOCAL maintenance_work_mem = '512MB'; \
                 SET LOCAL max_parallel_maintenance_workers = 1; \
                 SET LOCAL synchronous_commit = off",
            )
            .await?;
        }
        let owners = insert_owners(conn, self.accounts, self.users, progress).await?;

        let dropped = Deferred::take(conn).await?;
        // The generator thread builds batches (and writes the secrets) while this task writes
        // the previous one. A closed channel stops it, on success and on failure alike.
        let (tx, mut rx) = mpsc::channel(2);
        let generator = Generator {
            rng: self.rng,
            ids: StdRng::from_rng(OsRng).map_err(|_| SeedError::Generator)?,
            owners,
            tokens: self.tokens,
            all_live: self.all_live,
            now: self.now,
            key: self.key,
            secrets: self
                .secrets
                .map(|w| std::io::BufWriter::with_capacity(1 << 16, w)),
        };
        let thread = std::thread::Builder::new()
            .name("seed-generator".into())
            .spawn(move || generator.run(tx))
            .map_err(|_| SeedError::Generator)?;
        progress.start(Phase::Tokens, self.tokens as u64);
        let mut written = 0;
        while let Some(batch) = rx.recv().await {
            let rows = batch.map_err(SeedError::Secrets)?;
            written += rows.len();
            insert_tokens(conn, rows).await?;
            progress.update(written as u64);
        }
        thread.join().map_err(|_| SeedError::Generator)?;
        if written != self.tokens {
            return Err(SeedError::Generator);
        }
        progress.finish();

        dropped.restore(conn, progress).await?;
        Ok(written)
    }
}

async fn insert_owners(
    conn: &mut Conn<'_>,
    accounts: Vec<NewAccount>,
    users: Vec<NewUser>,
    progress: &mut dyn SeedProgress,
) -> Result<Vec<Owner>, SeedError> {
    progress.start(Phase::Owners, (accounts.len() + users.len()) as u64);
    let mut owners = Vec::with_capacity(accounts.len() + users.len());
    for chunk in accounts.chunks(OWNER_BATCH) {
        let ids: Vec<i64> = match conn {
            Conn::Sqlite(c) => {
                let rows: Vec<_> = chunk.iter().map(NewAccount::copy).collect();
                c.spawn_blocking(move |c| blocking::insert_accounts(c, &rows))
                    .await?
            }
            Conn::Pg(c) => {
                let got: HashMap<String, i64> = diesel::insert_into(service_accounts::table)
                    .values(chunk)
                    .returning((service_accounts::name, service_accounts::id))
                    .get_results::<(String, i64)>(*c)
                    .await?
                    .into_iter()
                    .collect();
                chunk.iter().map(|a| got[&a.name]).collect()
            }
        };
        owners.extend(chunk.iter().zip(ids).map(|(a, id)| Owner {
            kind: TokenKind::ServiceAccount,
            id,
            name: a.name.clone(),
            role: a.role,
            disabled: a.disabled_at.is_some(),
        }));
        progress.update(owners.len() as u64);
    }
    for chunk in users.chunks(OWNER_BATCH) {
        let ids: Vec<i64> = match conn {
            Conn::Sqlite(c) => {
                let rows: Vec<_> = chunk.iter().map(NewUser::copy).collect();
                c.spawn_blocking(move |c| blocking::insert_users(c, &rows))
                    .await?
            }
            Conn::Pg(c) => {
                let got: HashMap<String, i64> = diesel::insert_into(users::table)
                    .values(chunk)
                    .returning((users::email, users::id))
                    .get_results::<(String, i64)>(*c)
                    .await?
                    .into_iter()
                    .collect();
                chunk.iter().map(|u| got[&u.email]).collect()
            }
        };
        owners.extend(chunk.iter().zip(ids).map(|(u, id)| Owner {
            kind: TokenKind::Personal,
            id,
            name: u.email.clone(),
            role: u.role,
            disabled: u.deactivated_at.is_some(),
        }));
        progress.update(owners.len() as u64);
    }
    progress.finish();
    Ok(owners)
}

impl NewAccount {
    fn copy(&self) -> Self {
        NewAccount {
            name: self.name.clone(),
            ..*self
        }
    }
}

impl NewUser {
    fn copy(&self) -> Self {
        NewUser {
            email: self.email.clone(),
            ..*self
        }
    }
}

/// The PostgreSQL flavour: one statement per batch, each column one array parameter.
const PG_INSERT_TOKENS: &str = "INSERT INTO tokens (public_id, kind, service_account_id, \
     user_id, name, description, display_prefix, secret_hash, created_at, created_by_label, \
     expires_at, last_used_at, last_used_ip, last_used_user_agent, revoked_at, \
     revoked_by_label, revoke_reason, allowed_cidrs, owner_name, owner_role, owner_disabled, \
     search_text) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], \
     $6::text[], $7::text[], $8::bytea[], $9::int8[], $10::text[], $11::int8[], $12::int8[], \
     $13::text[], $14::text[], $15::int8[], $16::text[], $17::text[], $18::text[], $19::text[], \
     $20::text[], $21::bool[], $22::text[])";

async fn insert_tokens(conn: &mut Conn<'_>, rows: Vec<SeedToken>) -> QueryResult<()> {
    match conn {
        // SQLite: one prepared single-row INSERT in a loop on its blocking thread. (One JSON
        // statement per batch through `json_each` was slower, and got slower as the table grew.)
        Conn::Sqlite(c) => {
            c.spawn_blocking(move |c| blocking::insert_tokens(c, &rows))
                .await
        }
        Conn::Pg(c) => insert_tokens_pg(c, rows).await,
    }
}

async fn insert_tokens_pg(c: &mut PgConn, rows: Vec<SeedToken>) -> QueryResult<()> {
    let n = rows.len();
    let mut col = Columns::with_capacity(n);
    for r in rows {
        col.public_id.push(r.public_id);
        col.kind.push(r.kind);
        col.service_account_id.push(r.service_account_id);
        col.user_id.push(r.user_id);
        col.name.push(r.name);
        col.description.push(r.description);
        col.display_prefix.push(r.display_prefix);
        col.secret_hash.push(r.secret_hash);
        col.created_at.push(r.created_at);
        col.created_by_label.push(r.created_by_label);
        col.expires_at.push(r.expires_at);
        col.last_used_at.push(r.last_used_at);
        col.last_used_ip.push(r.last_used_ip);
        col.last_used_user_agent.push(r.last_used_user_agent);
        col.revoked_at.push(r.revoked_at);
        col.revoked_by_label.push(r.revoked_by_label);
        col.revoke_reason.push(r.revoke_reason);
        col.allowed_cidrs.push(r.allowed_cidrs);
        col.owner_name.push(r.owner_name);
        col.owner_role.push(r.owner_role);
        col.owner_disabled.push(r.owner_disabled);
        col.search_text.push(r.search_text);
    }
    diesel::sql_query(PG_INSERT_TOKENS)
        .bind::<Array<Text>, _>(col.public_id)
        .bind::<Array<Text>, _>(col.kind)
        .bind::<Array<Nullable<BigInt>>, _>(col.service_account_id)
        .bind::<Array<Nullable<BigInt>>, _>(col.user_id)
        .bind::<Array<Text>, _>(col.name)
        .bind::<Array<Text>, _>(col.description)
        .bind::<Array<Text>, _>(col.display_prefix)
        .bind::<Array<Binary>, _>(col.secret_hash)
        .bind::<Array<BigInt>, _>(col.created_at)
        .bind::<Array<Text>, _>(col.created_by_label)
        .bind::<Array<Nullable<BigInt>>, _>(col.expires_at)
        .bind::<Array<Nullable<BigInt>>, _>(col.last_used_at)
        .bind::<Array<Nullable<Text>>, _>(col.last_used_ip)
        .bind::<Array<Nullable<Text>>, _>(col.last_used_user_agent)
        .bind::<Array<Nullable<BigInt>>, _>(col.revoked_at)
        .bind::<Array<Nullable<Text>>, _>(col.revoked_by_label)
        .bind::<Array<Nullable<Text>>, _>(col.revoke_reason)
        .bind::<Array<Text>, _>(col.allowed_cidrs)
        .bind::<Array<Text>, _>(col.owner_name)
        .bind::<Array<Text>, _>(col.owner_role)
        .bind::<Array<Bool>, _>(col.owner_disabled)
        .bind::<Array<Text>, _>(col.search_text)
        .execute(c)
        .await?;
    Ok(())
}

/// A batch of tokens column by column, for `unnest`.
#[derive(Default)]
struct Columns {
    public_id: Vec<String>,
    kind: Vec<&'static str>,
    service_account_id: Vec<Option<i64>>,
    user_id: Vec<Option<i64>>,
    name: Vec<String>,
    description: Vec<String>,
    display_prefix: Vec<String>,
    secret_hash: Vec<Vec<u8>>,
    created_at: Vec<i64>,
    created_by_label: Vec<&'static str>,
    expires_at: Vec<Option<i64>>,
    last_used_at: Vec<Option<i64>>,
    last_used_ip: Vec<Option<String>>,
    last_used_user_agent: Vec<Option<&'static str>>,
    revoked_at: Vec<Option<i64>>,
    revoked_by_label: Vec<Option<&'static str>>,
    revoke_reason: Vec<Option<&'static str>>,
    allowed_cidrs: Vec<&'static str>,
    owner_name: Vec<String>,
    owner_role: Vec<&'static str>,
    owner_disabled: Vec<bool>,
    search_text: Vec<String>,
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Columns {
            public_id: Vec::with_capacity(n),
            name: Vec::with_capacity(n),
            search_text: Vec::with_capacity(n),
            ..Columns::default()
        }
    }
}

/// The synchronous half of the SQLite flavour, run on its blocking thread.
mod blocking {
    use diesel::prelude::*;

    use super::{service_accounts, tokens, users, NewAccount, NewUser, SeedToken};

    pub(super) fn insert_tokens(
        conn: &mut SqliteConnection,
        rows: &[SeedToken],
    ) -> QueryResult<()> {
        for row in rows {
            diesel::insert_into(tokens::table)
                .values(row)
                .execute(conn)?;
        }
        Ok(())
    }

    pub(super) fn insert_accounts(
        conn: &mut SqliteConnection,
        rows: &[NewAccount],
    ) -> QueryResult<Vec<i64>> {
        rows.iter()
            .map(|r| {
                diesel::insert_into(service_accounts::table)
                    .values(r)
                    .returning(service_accounts::id)
                    .get_result(conn)
            })
            .collect()
    }

    pub(super) fn insert_users(
        conn: &mut SqliteConnection,
        rows: &[NewUser],
    ) -> QueryResult<Vec<i64>> {
        rows.iter()
            .map(|r| {
                diesel::insert_into(users::table)
                    .values(r)
                    .returning(users::id)
                    .get_result(conn)
            })
            .collect()
    }
}

/// A schema object of the token table, as the catalog describes it.
#[derive(QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

/// The CREATE INDEX statements of the token table's own indexes (not the ones behind its
/// primary key or UNIQUE column constraints, which SQLite creates itself and which PostgreSQL
/// constraints own). Unique indexes are among them: rebuilding one checks every row.
const SQLITE_INDEXES: &str = "SELECT name, sql FROM sqlite_schema \
     WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL ORDER BY name";
/// The triggers that keep the full-text index (`token_search`) in step.
const SQLITE_FTS_TRIGGERS: &str = "SELECT name, sql FROM sqlite_schema \
     WHERE type = 'trigger' AND tbl_name = 'tokens' AND name LIKE 'tokens\\_search\\_%' ESCAPE '\\' \
     ORDER BY name";
const PG_INDEXES: &str = "SELECT c.relname::text AS name, pg_get_indexdef(i.indexrelid) AS sql \
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     WHERE i.indrelid = 'tokens'::regclass AND NOT EXISTS ( \
         SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid \
         AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) \
     ORDER BY c.relname";
/// Foreign keys (checked row by row on insert, in one join when re-added) and UNIQUE
/// constraints no foreign key relies on (an index maintained row by row on insert, one sort
/// when re-added; re-adding checks every row).
const PG_CONSTRAINTS: &str = "SELECT conname::text AS name, pg_get_constraintdef(k.oid) AS sql \
     FROM pg_constraint k WHERE conrelid = 'tokens'::regclass AND (contype = 'f' \
     OR (contype = 'u' AND NOT EXISTS (SELECT 1 FROM pg_constraint f \
         WHERE f.contype = 'f' AND f.conindid = k.conindid))) \
     ORDER BY contype DESC, conname";
/// What was dropped from the token table for the bulk insert, to be put back afterwards.
struct Deferred {
    indexes: Vec<SchemaObject>,
    fts_triggers: Vec<SchemaObject>,
    constraints: Vec<SchemaObject>,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Deferred {
    /// Reads the token table's indexes (and triggers, foreign keys) and drops them.
    async fn take(conn: &mut Conn<'_>) -> QueryResult<Deferred> {
        let deferred = match conn {
            Conn::Sqlite(c) => Deferred {
                indexes: diesel::sql_query(SQLITE_INDEXES).load(*c).await?,
                fts_triggers: diesel::sql_query(SQLITE_FTS_TRIGGERS).load(*c).await?,
                constraints: Vec::new(),
            },
            Conn::Pg(c) => Deferred {
                indexes: diesel::sql_query(PG_INDEXES).load(*c).await?,
                fts_triggers: Vec::new(),
                constraints: diesel::sql_query(PG_CONSTRAINTS).load(*c).await?,
            },
        };
        let mut sql = String::new();
        for t in &deferred.fts_triggers {
            sql += &format!("DROP TRIGGER {};\n", quote(&t.name));
        }
        for k in &deferred.constraints {
            sql += &format!("ALTER TABLE tokens DROP CONSTRAINT {};\n", quote(&k.name));
        }
        for i in &deferred.indexes {
            sql += &format!("DROP INDEX {};\n", quote(&i.name));
        }
        if !sql.is_empty() {
            dispatch!(conn, |c| c.batch_execute(&sql).await)?;
        }
        Ok(deferred)
    }

    /// Rebuilds what `take` dropped: the indexes, the full-text index and its triggers, the
    /// foreign keys (which checks every row).
    async fn restore(
        self,
        conn: &mut Conn<'_>,
        progress: &mut dyn SeedProgress,
    ) -> Result<(), SeedError> {
        let fts = !self.fts_triggers.is_empty();
        let steps = self.indexes.len() + self.constraints.len() + usize::from(fts);
        progress.start(Phase::Indexes, steps as u64);
        let mut done = 0;
        // The full-text index first: built while the page cache holds only the table, it took
        // 3 s instead of 8 s at 200,000 tokens.
        if fts {
            // (Rebuilding without incremental merges and then merging once, 'optimize', was
            // faster at 100,000 tokens but did not finish in 10 minutes at a million.)
            let mut sql =
                "INSERT INTO token_search (token_search) VALUES ('rebuild');\n".to_string();
            for t in &self.fts_triggers {
                sql += &t.sql;
                sql += ";\n";
            }
            dispatch!(conn, |c| c.batch_execute(&sql).await)?;
            done += 1;
            progress.update(done);
        }
        for i in &self.indexes {
            dispatch!(conn, |c| c.batch_execute(&i.sql).await)?;
            done += 1;
            progress.update(done);
        }
        for k in &self.constraints {
            let sql = format!(
                "ALTER TABLE tokens ADD CONSTRAINT {} {}",
                quote(&k.name),
                k.sql
            );
            dispatch!(conn, |c| c.batch_execute(&sql).await)?;
            done += 1;
            progress.update(done);
        }
        progress.finish();
        Ok(())
    }
}

/// Builds the tokens, batch by batch, on a thread of its own.
struct Generator {
    /// Seeded: what the data looks like (names, dates, statuses).
    rng: StdRng,
    /// From the operating system: public ids and secrets (or random hashes), so they are
    /// unguessable and a second run with the same seed does not collide with the first.
    ids: StdRng,
    owners: Vec<Owner>,
    tokens: usize,
    all_live: bool,
    now: i64,
    key: Arc<ServerKey>,
    secrets: Option<std::io::BufWriter<SecretsSink>>,
}

type Batch = Result<Vec<SeedToken>, std::io::Error>;

impl Generator {
    fn run(mut self, tx: mpsc::Sender<Batch>) {
        // The same number for every owner (so no one is over the cap of 20 live ones when
        // seeding 20 per owner), in a shuffled owner order so ids do not follow owners.
        let owners = self.owners.len().max(1);
        let (per_owner, extra) = (self.tokens / owners, self.tokens % owners);
        let mut plan: Vec<(u32, u32)> = Vec::with_capacity(self.tokens);
        for o in 0..self.owners.len() {
            for j in 0..per_owner + usize::from(o < extra) {
                plan.push((o as u32, j as u32));
            }
        }
        plan.shuffle(&mut self.rng);
        for chunk in plan.chunks(BATCH) {
            let batch: Batch = chunk
                .iter()
                .map(|&(o, j)| self.token(o as usize, j as usize))
                .collect();
            let failed = batch.is_err();
            if tx.blocking_send(batch).is_err() || failed {
                return;
            }
        }
        if let Some(Err(e)) = self.secrets.as_mut().map(|w| w.flush()) {
            let _ = tx.blocking_send(Err(e));
        }
    }

    fn token(&mut self, o: usize, j: usize) -> std::io::Result<SeedToken> {
        let rng = &mut self.rng;
        let owner = &self.owners[o];
        let pid: String = (0..PUBLIC_ID_LEN)
            .map(|_| BASE62[self.ids.gen_range(0..62)] as char)
            .collect();
        let secret_hash = match &mut self.secrets {
            Some(out) => {
                let t = self.key.new_secret_with(&mut self.ids, owner.kind, &pid);
                out.write_all(t.token.expose().as_bytes())?;
                out.write_all(b"\n")?;
                t.hash
            }
            None => {
                let mut hash = vec![0u8; 32];
                self.ids.fill_bytes(&mut hash);
                hash
            }
        };
        let prefix = display_prefix(owner.kind, &pid);
        let name = format!("{}_{j:02}", TOKEN_WORDS[(o + j) % TOKEN_WORDS.len()]);
        let description = if rng.gen_bool(0.4) {
            DESCRIPTIONS[rng.gen_range(0..DESCRIPTIONS.len())]
        } else {
            ""
        };
        let now = self.now;
        let created = now - rng.gen_range(0..730 * DAY_SECS);
        let lifetime = [7, 30, 60, 90, 365][rng.gen_range(0..5)] * DAY_SECS;
        let expires = (!rng.gen_ratio(3, 20)).then(|| {
            if self.all_live {
                // Still the same spread of lifetimes, all of them ahead.
                now + lifetime
            } else {
                created + lifetime
            }
        });
        let revoked = rng
            .gen_ratio(3, 25)
            .then(|| rng.gen_range(created..now.max(created + 1)))
            .filter(|_| !self.all_live);
        let end = [Some(now), expires, revoked]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        let used = (!rng.gen_ratio(1, 5) && end > created)
            .then(|| rng.gen_range(created.max(now - 365 * DAY_SECS).min(end)..=end));
        Ok(SeedToken {
            search_text: token_search_text(&name, &prefix, &owner.name, description),
            public_id: pid,
            kind: owner.kind.as_str(),
            service_account_id: (owner.kind == TokenKind::ServiceAccount).then_some(owner.id),
            user_id: (owner.kind == TokenKind::Personal).then_some(owner.id),
            name,
            description: description.to_string(),
            display_prefix: prefix,
            secret_hash,
            created_at: created,
            created_by_label: "dev seed",
            expires_at: expires,
            last_used_at: used,
            last_used_ip: used.map(|_| {
                format!(
                    "10.{}.{}.{}",
                    rng.gen_range(0..255),
                    rng.gen_range(0..255),
                    rng.gen_range(1..255)
                )
            }),
            last_used_user_agent: used.map(|_| "seed-client/1.0"),
            revoked_at: revoked,
            revoked_by_label: revoked.map(|_| "dev seed"),
            revoke_reason: revoked.map(|_| ["manual", "bulk", "leaked"][rng.gen_range(0..3)]),
            allowed_cidrs: if rng.gen_ratio(1, 10) && !self.all_live {
                "10.0.0.0/8"
            } else {
                ""
            },
            owner_name: owner.name.clone(),
            owner_role: owner.role,
            owner_disabled: owner.disabled,
        })
    }
}
