//! Prometheus metrics (`GET /metrics`, text format), served only on their own listener
//! (`KEYWARD_METRICS_LISTEN`, off by default) and never behind the session: scrapers reach it
//! on an internal address, the public listener does not have the route at all.
//!
//! Counters and histograms are recorded where things happen (`keyward_http_*` in the access
//! middleware, `keyward_verifications_total` and `keyward_token_cache_*` in the verifier,
//! `keyward_logins_total` in the login service, `keyward_usage_flush_*` in the flusher). Until
//! the recorder is installed every one of them is a no-op. Gauges that describe a state are
//! read at scrape time.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::Mutex;

use app::backend::service::tokens;
use app::backend::state::AppState;

/// Latency buckets (seconds) of every `*_seconds` histogram.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Counting live tokens scans the table: at most once a minute, whatever the scrape rate.
const LIVE_TOKENS_MAX_AGE: Duration = Duration::from_secs(60);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder; later calls return the same handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first; /metrics will be empty"
                );
            }
            handle
        })
        .clone()
}

#[derive(Clone)]
struct Scrape {
    state: AppState,
    handle: PrometheusHandle,
    live_tokens_at: Arc<Mutex<Option<Instant>>>,
}

/// The metrics listener's router: `GET /metrics` and nothing else.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            state,
            handle,
            live_tokens_at: Arc::default(),
        })
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    refresh_gauges(&s).await;
    s.handle.run_upkeep();
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.handle.render(),
    )
}

async fn refresh_gauges(s: &Scrape) {
    let state = &s.state;
    for pool in state.db.pool_status() {
        metrics::gauge!("keyward_db_pool_connections", "pool" => pool.name, "state" => "in_use")
            .set(pool.in_use as f64);
        metrics::gauge!("keyward_db_pool_connections", "pool" => pool.name, "state" => "idle")
            .set(pool.idle as f64);
        metrics::gauge!("keyward_db_pool_max_connections", "pool" => pool.name)
            .set(pool.max as f64);
        metrics::gauge!("keyward_db_pool_waiting", "pool" => pool.name).set(pool.waiting as f64);
    }
    metrics::gauge!("keyward_token_cache_entries").set(state.auth.cache.len() as f64);
    metrics::gauge!("keyward_usage_flush_lag_seconds")
        .set(state.auth.usage_flush_lag_secs() as f64);

    // One scrape counts at a time; the others keep the last figures.
    let Ok(mut at) = s.live_tokens_at.try_lock() else {
        return;
    };
    if at.is_some_and(|t| t.elapsed() < LIVE_TOKENS_MAX_AGE) {
        return;
    }
    match tokens::live_counts(state).await {
        Ok(counts) => {
            for kind in ["service_account", "personal"] {
                let n = counts
                    .iter()
                    .find(|(k, _)| k == kind)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("keyward_tokens_live", "kind" => kind).set(n as f64);
            }
            *at = Some(Instant::now());
        }
        Err(e) => tracing::warn!(error = %e, "could not count live tokens for /metrics"),
    }
}
