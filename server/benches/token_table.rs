//! The organisation-wide token table at scale: every sort × filter × search combination, page
//! 1 and page 100, timed at the service (the work a server function does), plus the rendered
//! page through HTTP. Run against a seeded database:
//!
//!     KEYWARD_DATA_DIR=/tmp/bench DATABASE_URL=… keyward dev seed --tokens 1000000 --accounts 50000
//!     KEYWARD_DATA_DIR=/tmp/bench DATABASE_URL=… cargo bench -p server --bench token_table
//!
//! (`scripts/bench-table` does both.) Prints p50/p95/max per sort column and overall, and the
//! slowest combinations. Targets: p95 ≤ 50 ms per query, page render p50 ≤ 30 ms.

use std::time::{Duration, Instant};

use app::backend::auth::Principal;
use app::backend::service::token_table;
use app::domain::token_query::{SortColumn, TokenQuery, Usage};
use app::model::TokenStatus;
use clap::Parser;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The filter sets: none, each filter alone, and a few combinations.
fn filter_sets(owner: &str) -> Vec<(&'static str, TokenQuery)> {
    let base = TokenQuery::default();
    vec![
        ("none", base.clone()),
        (
            "type=personal",
            TokenQuery {
                owner_type: Some(app::domain::token_format::TokenKind::Personal),
                ..base.clone()
            },
        ),
        (
            "status=revoked",
            TokenQuery {
                statuses: vec![TokenStatus::Revoked],
                ..base.clone()
            },
        ),
        (
            "status=active",
            TokenQuery {
                statuses: vec![TokenStatus::Active],
                ..base.clone()
            },
        ),
        (
            "usage=never",
            TokenQuery {
                usage: Usage::Never,
                ..base.clone()
            },
        ),
        (
            "unused>90d",
            TokenQuery {
                usage: Usage::UnusedFor(90),
                ..base.clone()
            },
        ),
        (
            "used<7d",
            TokenQuery {
                usage: Usage::UsedWithin(7),
                ..base.clone()
            },
        ),
        (
            "expiring<30d",
            TokenQuery {
                expiring_within: Some(30),
                ..base.clone()
            },
        ),
        (
            "owner",
            TokenQuery {
                owners: vec![owner.to_string()],
                ..base.clone()
            },
        ),
        (
            "created range",
            TokenQuery {
                created_from: Some("2026-01-01".into()),
                created_to: Some("2026-03-31".into()),
                ..base.clone()
            },
        ),
        (
            "combined",
            TokenQuery {
                statuses: vec![TokenStatus::Active, TokenStatus::ExpiringSoon],
                usage: Usage::UnusedFor(30),
                owner_type: Some(app::domain::token_format::TokenKind::ServiceAccount),
                ..base.clone()
            },
        ),
    ]
}

fn searches() -> Vec<(&'static str, &'static str)> {
    vec![
        ("no search", ""),
        ("common", "deploy"),
        ("short", "a"),
        ("rare", "nightly_07"),
        ("absent", "zzqx"),
    ]
}

#[derive(Parser)]
struct Args {
    /// Timed runs per combination (after one warm-up).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Fewer combinations: no owner/created filters, two searches.
    #[arg(long)]
    quick: bool,
    /// Only this sort column (e.g. `status`), to iterate on one slow corner.
    #[arg(long)]
    sort: Option<String>,
    /// Only this filter set (e.g. `used<7d`).
    #[arg(long)]
    filter: Option<String>,
    /// Skip the rendered-page part.
    #[arg(long)]
    no_render: bool,
    #[arg(long, default_value = "")]
    bench: String,
}

#[tokio::main]
async fn main() {
    let args = Args::parse_from(std::env::args().filter(|a| a != "--bench"));
    let _ = args.bench;
    let config = server::config::Cli::parse_from(["keyward"]).config;
    let state = server::startup::build_state(&config)
        .await
        .expect("database");
    let me = Principal::operator();
    // An owner that exists, for the owner filter.
    let sample = token_table::list(&state, &me, &TokenQuery::default())
        .await
        .expect("table");
    let owner = sample
        .items
        .first()
        .map(|t| t.owner.name.clone())
        .unwrap_or_default();
    if sample.total == 0 {
        eprintln!(
            "The database has no tokens: seed it first (keyward dev seed), and give KEYWARD_DATA_DIR \
             as an absolute path (cargo runs benchmarks from the package directory)."
        );
        std::process::exit(2);
    }
    println!(
        "Token table benchmark: {} database, total tokens {}{}",
        state.db.backend_name(),
        sample.total,
        if sample.capped { "+ (capped)" } else { "" }
    );

    // The same run's baseline, for ratios that survive a noisy machine: one round trip to the
    // database through the pool.
    let mut pings = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        state.db.ping().await.expect("ping");
        pings.push(t.elapsed());
    }
    pings.sort();
    let ping = percentile(&pings, 0.5);
    println!(
        "\nBaseline: database round trip (`SELECT 1` through the pool) p50 {:.3} ms",
        ping.as_secs_f64() * 1000.0
    );

    let mut all: Vec<Duration> = Vec::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    // (time, filter set, search) of every timed query, for the breakdown after the table.
    let mut by_view: Vec<(Duration, &'static str, &'static str)> = Vec::new();
    println!("\n| sort | queries | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|");
    for sort in SortColumn::ALL {
        if args.sort.as_deref().is_some_and(|s| s != sort.as_str()) {
            continue;
        }
        let mut times = Vec::new();
        for (fname, filter) in filter_sets(&owner) {
            if args.quick && (fname == "owner" || fname == "created range") {
                continue;
            }
            if args.filter.as_deref().is_some_and(|f| f != fname) {
                continue;
            }
            for (sname, search) in searches() {
                if args.quick && !(sname == "no search" || sname == "common") {
                    continue;
                }
                for desc in [false, true] {
                    for page in [1, 100] {
                        let q = TokenQuery {
                            q: search.to_string(),
                            sort,
                            desc,
                            page,
                            ..filter.clone()
                        };
                        token_table::list(&state, &me, &q).await.expect("query");
                        for _ in 0..args.runs {
                            let t = Instant::now();
                            token_table::list(&state, &me, &q).await.expect("query");
                            let d = t.elapsed();
                            times.push(d);
                            by_view.push((d, fname, sname));
                            slowest.push((
                                d,
                                format!(
                                    "sort={} {} filter={fname} search={sname} page={page}",
                                    sort.as_str(),
                                    if desc { "desc" } else { "asc" }
                                ),
                            ));
                        }
                    }
                }
            }
        }
        times.sort();
        println!(
            "| {} | {} | {} | {} | {} |",
            sort.as_str(),
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap())
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "| **all** | {} | {} | {} | {} |",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.95)),
        ms(*all.last().unwrap())
    );
    breakdown("filter set", by_view.iter().map(|(d, f, _)| (*d, *f)));
    breakdown("search", by_view.iter().map(|(d, _, s)| (*d, *s)));
    println!(
        "\nRatios to the database round trip: p50 {:.0}x, p95 {:.0}x",
        percentile(&all, 0.5).as_secs_f64() / ping.as_secs_f64(),
        percentile(&all, 0.95).as_secs_f64() / ping.as_secs_f64()
    );
    slowest.sort_by_key(|b| std::cmp::Reverse(b.0));
    slowest.dedup_by(|a, b| a.1 == b.1);
    println!("\nSlowest combinations:");
    for (d, what) in slowest.iter().take(20) {
        println!("  {} ms  {what}", ms(*d));
    }
    if !args.no_render {
        page_render(&state).await;
    }
    state.db.close();
}

/// p50/p95/max per value of one dimension of the matrix, slowest first.
fn breakdown<'a>(what: &str, times: impl Iterator<Item = (Duration, &'a str)>) {
    let mut groups: Vec<(&str, Vec<Duration>)> = Vec::new();
    for (d, key) in times {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(d),
            None => groups.push((key, vec![d])),
        }
    }
    for (_, v) in &mut groups {
        v.sort();
    }
    groups.sort_by_key(|(_, v)| std::cmp::Reverse(percentile(v, 0.95)));
    println!("\n| {what} | queries | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|");
    for (key, v) in &groups {
        println!(
            "| {key} | {} | {} | {} | {} |",
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.95)),
            ms(*v.last().unwrap())
        );
    }
}

/// The rendered `/tokens` page through HTTP (router, session, server rendering), signed in as
/// an Admin: p50 over repeated requests for a few views.
async fn page_render(state: &app::backend::state::AppState) {
    use app::domain::{Role, Sensitive};
    let email = "bench-admin@example.com";
    let password = "benchmark password 1";
    let _ = app::backend::service::team::create_with_password(
        state,
        &Principal::operator(),
        email,
        "",
        Role::Admin,
        Sensitive::new(password),
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server::http::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let res = http
        .post(format!("{base}/api/fn/auth/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "bench admin can sign in");
    println!("\n| page | requests | p50 ms | p95 ms |\n|---|---|---|---|");
    let mut all = Vec::new();
    let mut healthz = Duration::ZERO;
    for view in [
        "/healthz",
        "/tokens",
        "/tokens?sort=name&dir=asc&page=100",
        "/tokens?q=deploy&status=active",
        "/tokens?usage=unused&days=90&sort=last_used&dir=asc",
    ] {
        let mut times = Vec::new();
        for i in 0..31 {
            let t = Instant::now();
            let res = http.get(format!("{base}{view}")).send().await.unwrap();
            assert!(res.status().is_success(), "{view}: {}", res.status());
            let _ = res.bytes().await.unwrap();
            if i > 0 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        println!(
            "| `{view}` | {} | {} | {} |",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95))
        );
        if view == "/healthz" {
            healthz = percentile(&times, 0.5);
        } else {
            all.extend(times);
        }
    }
    all.sort();
    println!(
        "| **all `/tokens` views** | {} | {} | {} |",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.95))
    );
    println!(
        "\nRatio of the `/tokens` p50 to `/healthz` p50 in this run: {:.1}x",
        percentile(&all, 0.5).as_secs_f64() / healthz.as_secs_f64()
    );
}
