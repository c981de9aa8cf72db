//! The token table beyond the count cap: 6,000 tokens, so pages come from the SQL walk of a
//! sort index rather than from sorting a small set, the count stops at "more than 5,000", and
//! pages past the cap are empty. And the plans: the statement for three representative views
//! uses the intended index on each engine.

use app::backend::repo::token_table::{self as repo, Dialect, TableFilter, TableQuery};
use app::domain::token_query::{SortColumn, COUNT_CAP};
use app::domain::token_status::status_at;
use app::domain::Role;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::harness::{create_account, exec_sql, Backend, Client, TestApp, TestDb};
use crate::token_table::expected;

backends!(
    many_matches_page_in_order_and_cap_the_count,
    the_planner_uses_the_list_indexes,
);

const DAY: i64 = 86_400;
const TOKENS: i64 = 6_000;

struct Big {
    app: TestApp,
    admin: Client,
    /// Every token as the table shows it (the fields `expected` sorts by).
    all: Vec<Value>,
}

/// Three accounts (one disabled) holding 6,000 tokens with tied names and times, every
/// status, and never-used and never-expiring ones; inserted by SQL, as a bulk import would.
async fn big(b: Backend) -> (TestDb, Big) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let now = app::backend::service::now();
    let accounts = [
        (
            create_account(&admin, "alpha_bot", "viewer").await,
            "alpha_bot",
            "viewer",
        ),
        (
            create_account(&admin, "beta_bot", "admin").await,
            "beta_bot",
            "admin",
        ),
        (
            create_account(&admin, "gamma_bot", "deployment").await,
            "gamma_bot",
            "deployment",
        ),
    ];
    let (series, pad, hash, nl) = match b {
        Backend::Sqlite => (
            format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {TOKENS}) "),
            "printf('%04d', i % 2003)",
            "randomblob(32)",
            "char(10)",
        ),
        Backend::Postgres => (
            String::new(),
            "lpad((i % 2003)::text, 4, '0')",
            "decode(md5(i::text), 'hex')",
            "chr(10)",
        ),
    };
    let from = match b {
        Backend::Sqlite => "FROM s".to_string(),
        Backend::Postgres => format!("FROM generate_series(1, {TOKENS}) AS s(i)"),
    };
    // Expiry sits an hour off whole days, so no token crosses a status boundary (now, now + 7
    // days) between this fixture and the queries. Names repeat across accounts (i % 2003), never within one (2003 and 4006 are not
    // multiples of 3; 6009 is past the end).
    let account = |col: usize| {
        format!(
            "CASE i % 3 WHEN 0 THEN {} WHEN 1 THEN {} ELSE {} END",
            match col {
                0 => accounts[0].0.to_string(),
                1 => format!("'{}'", accounts[0].1),
                _ => format!("'{}'", accounts[0].2),
            },
            match col {
                0 => accounts[1].0.to_string(),
                1 => format!("'{}'", accounts[1].1),
                _ => format!("'{}'", accounts[1].2),
            },
            match col {
                0 => accounts[2].0.to_string(),
                1 => format!("'{}'", accounts[2].1),
                _ => format!("'{}'", accounts[2].2),
            },
        )
    };
    let name = format!("'tok_' || {pad}");
    let prefix = format!("'kwsa_' || {}", pad.replace("i % 2003", "(i * 31) % 9973"));
    exec_sql(
        &app.state,
        &format!(
            "{series}INSERT INTO tokens (public_id, kind, service_account_id, name, description, display_prefix, \
             secret_hash, created_at, created_by_label, expires_at, last_used_at, revoked_at, revoke_reason, \
             owner_name, owner_role, owner_disabled, search_text) \
             SELECT 'big' || i, 'service_account', {sa}, {name}, '', {prefix}, {hash}, \
             {now} - ((i * 37) % 1000) * 3600, 'test', \
             CASE WHEN i % 7 = 0 THEN NULL ELSE {now} + (((i * 13) % 400) - 20) * {DAY} + 3600 END, \
             CASE WHEN i % 5 = 0 THEN NULL ELSE {now} - ((i * 11) % 500) * 3600 END, \
             CASE WHEN i % 17 = 0 THEN {now} - {DAY} END, CASE WHEN i % 17 = 0 THEN 'manual' END, \
             {owner}, {role}, i % 3 = 2, \
             lower({name} || {nl} || {prefix} || {nl} || {owner} || {nl}) {from}",
            sa = account(0),
            owner = account(1),
            role = account(2),
        ),
    )
    .await;
    // The third account is disabled, as its copied flag above says.
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &accounts[2].0.to_string()), ("enabled", "false")],
        )
        .await;
    let all = rows(&app, now).await;
    assert_eq!(all.len() as i64, TOKENS);
    (db, Big { app, admin, all })
}

/// Every token read straight from the database, in the shape the table's JSON has.
async fn rows(app: &TestApp, now: i64) -> Vec<Value> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        display_prefix: String,
        #[diesel(sql_type = Text)]
        owner_name: String,
        #[diesel(sql_type = Text)]
        owner_role: String,
        #[diesel(sql_type = Bool)]
        owner_disabled: bool,
        #[diesel(sql_type = BigInt)]
        created_at: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        expires_at: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        last_used_at: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        revoked_at: Option<i64>,
    }
    let sql =
        "SELECT id, name, display_prefix, owner_name, owner_role, owner_disabled, created_at, \
               expires_at, last_used_at, revoked_at FROM tokens";
    let mut pooled = app.state.db.get().await.unwrap();
    let rows: Vec<Row> = match pooled.conn() {
        app::backend::db::Conn::Sqlite(c) => diesel::sql_query(sql).load(c).await.unwrap(),
        app::backend::db::Conn::Pg(c) => diesel::sql_query(sql).load(c).await.unwrap(),
    };
    rows.into_iter()
        .map(|r| {
            let status = status_at(r.revoked_at.is_some(), r.expires_at, r.owner_disabled, now);
            json!({
                "id": r.id, "name": r.name, "display_prefix": r.display_prefix,
                "owner": { "name": r.owner_name }, "kind": "service_account", "role": r.owner_role,
                "created_at": r.created_at, "expires_at": r.expires_at,
                "last_used_at": r.last_used_at, "status": status.as_str(),
            })
        })
        .collect()
}

async fn table(client: &Client, qs: &str) -> Value {
    let (status, body) = client.get("tokens/table", &[("query", qs)]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{qs}: {body}");
    body
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

const SORTS: [&str; 9] = [
    "name",
    "prefix",
    "owner",
    "owner_type",
    "role",
    "created",
    "expires",
    "last_used",
    "status",
];

async fn many_matches_page_in_order_and_cap_the_count(b: Backend) {
    let (_db, t) = big(b).await;
    // More than the cap: pages are slices of the first 5,000 in order; the count is capped.
    for sort in SORTS {
        for dir in ["asc", "desc"] {
            let order = expected(&t.all, sort, dir == "desc");
            for page in [1, 2, 100, 200] {
                let got = table(&t.admin, &format!("sort={sort}&dir={dir}&page={page}")).await;
                let from = (page as usize - 1) * 25;
                assert_eq!(
                    ids(&got),
                    order[from..from + 25].to_vec(),
                    "sort={sort} dir={dir} page={page}"
                );
                assert_eq!(got["total"], COUNT_CAP, "sort={sort}");
                assert_eq!(got["capped"], true, "sort={sort}");
            }
        }
    }
    // A kind filter is also a range of the prefix index: the same pages.
    for dir in ["asc", "desc"] {
        let order = expected(&t.all, "prefix", dir == "desc");
        let got = table(
            &t.admin,
            &format!("type=service_account&sort=prefix&dir={dir}&page=100"),
        )
        .await;
        assert_eq!(ids(&got), order[2475..2500].to_vec(), "prefix {dir}");
    }
    // A narrow filter (creation dates) that still matches more than the cap: PostgreSQL sorts
    // up to `WIDE` (50,000) matches read from the filter's index, SQLite walks the sort index
    // (cheaper per entry there); both give the unfiltered order and a capped count.
    for sort in SORTS {
        for dir in ["asc", "desc"] {
            let order = expected(&t.all, sort, dir == "desc");
            let got = table(
                &t.admin,
                &format!("created_from=2000-01-01&sort={sort}&dir={dir}&page=100"),
            )
            .await;
            assert_eq!(
                ids(&got),
                order[2475..2500].to_vec(),
                "created range sort={sort} dir={dir}"
            );
            assert_eq!(got["total"], COUNT_CAP, "sort={sort}");
            assert_eq!(got["capped"], true, "sort={sort}");
        }
    }
    let none = table(&t.admin, "type=personal&sort=prefix").await;
    assert!(ids(&none).is_empty());
    assert_eq!(none["total"], 0);

    // Past the cap: an empty page that still says "more than 5,000".
    let past = table(&t.admin, "sort=name&page=201").await;
    assert!(ids(&past).is_empty());
    assert_eq!(past["total"], COUNT_CAP);
    assert_eq!(past["capped"], true);

    // More than 5,000 live matches: the bulk-revoke count says "more" and a bulk revoke is
    // refused, changing nothing.
    let (status, live) = t
        .admin
        .get(
            "tokens/table/live-count",
            &[("query", "type=service_account")],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{live}");
    assert_eq!(live, COUNT_CAP + 1);
    let revoked_before = crate::harness::count_sql(
        &t.app.state,
        "SELECT COUNT(*) AS n FROM tokens WHERE revoked_at IS NOT NULL",
    )
    .await;
    let (status, body) = t
        .admin
        .post(
            "tokens/revoke-matching",
            &[
                ("query", "type=service_account"),
                ("expected", &(COUNT_CAP + 1).to_string()),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Narrow the filters"),
        "{body}"
    );
    assert_eq!(
        crate::harness::count_sql(
            &t.app.state,
            "SELECT COUNT(*) AS n FROM tokens WHERE revoked_at IS NOT NULL",
        )
        .await,
        revoked_before
    );

    // One account's tokens (2,000): fewer than the cap, sorted as a set; exact count.
    let alpha: Vec<Value> = t
        .all
        .iter()
        .filter(|v| v["owner"]["name"] == "alpha_bot")
        .cloned()
        .collect();
    for sort in SORTS {
        for dir in ["asc", "desc"] {
            let order = expected(&alpha, sort, dir == "desc");
            let got = table(
                &t.admin,
                &format!("sort={sort}&dir={dir}&owner=alpha_bot&page=3&size=100"),
            )
            .await;
            assert_eq!(
                ids(&got),
                order[200..300].to_vec(),
                "owner sort={sort} dir={dir}"
            );
            assert_eq!(got["total"], alpha.len() as i64);
            assert_eq!(got["capped"], false);
        }
    }

    // A status filter with a search (the full-text candidates, sorted as a set): the same
    // rows as filtering the list by hand.
    let wanted: Vec<Value> = t
        .all
        .iter()
        .filter(|v| v["status"] == "active" && v["name"].as_str().unwrap().contains("tok_1"))
        .cloned()
        .collect();
    let order = expected(&wanted, "expires", false);
    let got = table(
        &t.admin,
        "q=tok_1&status=active&sort=expires&dir=asc&size=100",
    )
    .await;
    assert_eq!(got["total"], wanted.len() as i64);
    assert_eq!(ids(&got), order[..100.min(order.len())].to_vec());
    // Page beyond the last of an exact count: empty, with the count.
    let last = table(&t.admin, "q=tok_1&status=active&page=200&size=100").await;
    assert!(ids(&last).is_empty());
    assert_eq!(last["total"], wanted.len() as i64);

    // A term in every row (each owner's name ends in `_bot`): PostgreSQL's sample calls it
    // common and skips the trigram index; the page is the walk's, in order, capped.
    for dir in ["asc", "desc"] {
        let order = expected(&t.all, "name", dir == "desc");
        let got = table(&t.admin, &format!("q=_bot&sort=name&dir={dir}&page=100")).await;
        assert_eq!(ids(&got), order[2475..2500].to_vec(), "q=_bot {dir}");
        assert_eq!(got["total"], COUNT_CAP);
        assert_eq!(got["capped"], true);
    }
    // A rare term (three tokens): the trigram or full-text candidates, exact.
    let rare: Vec<Value> = t
        .all
        .iter()
        .filter(|v| v["name"] == "tok_0042")
        .cloned()
        .collect();
    assert_eq!(rare.len(), 3);
    let got = table(&t.admin, "q=TOK_0042&sort=created&dir=desc").await;
    assert_eq!(ids(&got), expected(&rare, "created", true));
    assert_eq!(got["total"], 3);
    assert_eq!(got["capped"], false);
    t.app.stop().await;
}

/// The statement of a view, explained on the test database after fresh statistics.
async fn plan(t: &Big, b: Backend, q: &TableQuery) -> String {
    let dialect = match b {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    };
    let (sql, binds) = repo::page_statement(dialect, q);
    #[derive(diesel::QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct PgPlan {
        #[diesel(sql_type = Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    let mut pooled = t.app.state.db.get_writer().await.unwrap();
    match pooled.conn() {
        app::backend::db::Conn::Sqlite(c) => {
            let mut query = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .into_boxed::<diesel::sqlite::Sqlite>();
            for bind in binds {
                query = query.bind::<Text, _>(bind);
            }
            let rows: Vec<SqlitePlan> = query.load(c).await.unwrap();
            rows.into_iter()
                .map(|r| r.detail)
                .collect::<Vec<_>>()
                .join("\n")
        }
        app::backend::db::Conn::Pg(c) => {
            use diesel_async::SimpleAsyncConnection;
            // Small fixtures make a sequential scan cheapest; the production plan is what the
            // planner picks once scans are expensive.
            c.batch_execute("BEGIN; SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            let mut query =
                diesel::sql_query(format!("EXPLAIN {sql}")).into_boxed::<diesel::pg::Pg>();
            for bind in binds {
                query = query.bind::<Text, _>(bind);
            }
            let rows: Vec<PgPlan> = query.load(c).await.unwrap();
            c.batch_execute("COMMIT").await.unwrap();
            rows.into_iter()
                .map(|r| r.line)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

async fn the_planner_uses_the_list_indexes(b: Backend) {
    let (_db, t) = big(b).await;
    exec_sql(
        &t.app.state,
        match b {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE tokens",
        },
    )
    .await;
    let now = app::backend::service::now();
    let view = |filter: TableFilter, sort: SortColumn, desc: bool| TableQuery {
        filter: TableFilter { now, ..filter },
        sort,
        desc,
        offset: 0,
        limit: 25,
    };
    let cases = [
        // The default view: newest first, walking the creation index.
        (
            view(TableFilter::default(), SortColumn::Created, true),
            "tokens_list_created",
        ),
        // A status filter sorted by name: the name index, filtering as it walks.
        (
            view(
                TableFilter {
                    statuses: vec![app::model::TokenStatus::Active],
                    ..TableFilter::default()
                },
                SortColumn::Name,
                false,
            ),
            "tokens_list_name",
        ),
        // One owner's tokens by expiry: found through the owner index.
        (
            view(
                TableFilter {
                    owners: vec!["alpha_bot".into()],
                    ..TableFilter::default()
                },
                SortColumn::Expires,
                false,
            ),
            "tokens_list_owner",
        ),
        // Recent use by name: the matches are read as a range of the last-use index (on
        // PostgreSQL the filter on `last_used_at`, which that index only INCLUDEs, once made it
        // scan the index in full).
        (
            view(
                TableFilter {
                    usage: Some(app::domain::token_query::Usage::UsedWithin(7)),
                    ..TableFilter::default()
                },
                SortColumn::Name,
                false,
            ),
            "tokens_list_used_down",
        ),
    ];
    for (q, index) in cases {
        let plan = plan(&t, b, &q).await;
        assert!(
            plan.contains(index),
            "{:?} should use {index}:\n{plan}",
            q.sort
        );
        // Pages come from the index alone. PostgreSQL says so ("Index Only Scan"). SQLite
        // reads the generated sort and expiry keys from the index too but still reports
        // "USING INDEX" when they are referenced; what must not appear is a table scan.
        // A recent-use filter reads its (few) matches as a range through a bitmap, not as a
        // sorted walk; that case is checked for its range below.
        let walked = index != "tokens_list_used_down";
        match b {
            Backend::Postgres => assert!(
                !walked
                    || plan
                        .lines()
                        .any(|l| l.contains(index) && l.contains("Index Only Scan")),
                "{index} should be scanned index-only:\n{plan}"
            ),
            Backend::Sqlite => assert!(
                !plan.lines().any(|l| l.trim() == "SCAN tokens"),
                "no full scan of tokens:\n{plan}"
            ),
        }
        if index == "tokens_list_used_down" && b == Backend::Postgres {
            assert!(
                plan.contains("Index Cond: (used_down_key >="),
                "recent use should be a range of {index}:\n{plan}"
            );
        }
    }
    t.app.stop().await;
}

/// PostgreSQL builds the list indexes CONCURRENTLY, which an interruption leaves behind as an
/// invalid index; the next `keyward migrate` must build it again rather than skip it.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_index_build_is_redone_by_the_next_migrate() {
    if !crate::harness::postgres_enabled() {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .env("KEYWARD_DATA_DIR", &db.data_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    migrate();
    let app = TestApp::start(&db).await;
    // What an interrupted build leaves: the index marked invalid, its migration not recorded.
    exec_sql(
        &app.state,
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'tokens_list_name'::regclass",
    )
    .await;
    exec_sql(
        &app.state,
        "DELETE FROM __diesel_schema_migrations WHERE version = '20261202000005'",
    )
    .await;
    let valid = "SELECT COUNT(*) AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 WHERE c.relname = 'tokens_list_name' AND i.indisvalid";
    assert_eq!(crate::harness::count_sql(&app.state, valid).await, 0);
    app.stop().await;
    migrate();
    let app = TestApp::start(&db).await;
    assert_eq!(crate::harness::count_sql(&app.state, valid).await, 1);
    app.stop().await;
}
