//! What an operator watches: request ids, the access log, `/metrics` on its own listener, and
//! the rate-limit headers, through the real binary (its own metrics recorder, its own log).

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{free_port, keyward, Backend, Proc, TestDb};

backends!(operator_can_watch_requests_verifications_and_logins);

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn operator_can_watch_requests_verifications_and_logins(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "viewer",
        ],
        None,
    );
    assert!(ok, "{err}");
    let (ok, secret, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
            "--rate-limit",
            "3",
        ],
        None,
    );
    assert!(ok, "{err}");
    let secret = secret.trim().to_string();

    let metrics_port = free_port();
    let mut proc = Proc::serve(
        &db,
        &[
            (
                "KEYWARD_METRICS_LISTEN",
                &format!("127.0.0.1:{metrics_port}"),
            ),
            ("KEYWARD_LOG_FORMAT", "json"),
            ("KEYWARD_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let whoami = |token: &str, request_id: Option<&str>| {
        let mut req = http
            .get(format!("{}/api/v1/whoami", proc.base()))
            .bearer_auth(token);
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };

    // A smooth limit of 3 a minute: the budget is in the headers of each success.
    let mut ids = Vec::new();
    for remaining in [2, 1, 0] {
        let res = whoami(&secret, None).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h["ratelimit-limit"], "3");
        assert_eq!(h["ratelimit-remaining"], remaining.to_string().as_str());
        let reset: i64 = h["ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "reset {reset}");
        let id = h["x-request-id"].to_str().unwrap().to_string();
        assert!(
            id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "a new id per request");
    let res = whoami(&secret, Some("lb-trace-0042")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("ratelimit-remaining").is_none());
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=20).contains(&retry),
        "the next cell is at most 20 s away: {retry}"
    );
    assert_eq!(
        res.headers()["x-request-id"],
        "lb-trace-0042",
        "a trusted proxy's id is kept"
    );

    // An id that could break a log line or a CSV cell is replaced, even from a trusted proxy.
    let res = whoami("kwsa_not_a_token", Some("=HYPERLINK(\"x\")"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let replaced = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(replaced.len(), 32);

    // Query strings never reach the log.
    let res = http
        .get(format!("{}/set-password?code=QUERYSECRET123", proc.base()))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = http
        .get(format!("{}/kwsa_PASTEDPATHSECRET", proc.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A failed sign-in is counted by outcome.
    let login = crate::harness::Client::new(proc.base());
    let (status, _) = login.login("nobody@example.com", "wrong password!!").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The public listener has no metrics; the metrics listener has nothing else.
    let res = http
        .get(format!("{}/metrics", proc.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let metrics_url = format!("http://127.0.0.1:{metrics_port}");
    let res = http
        .get(format!("{metrics_url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http
        .get(format!("{metrics_url}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();

    let get = |name: &str, labels: &[&str]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
    };
    let whoami_route = "route=\"/api/v1/whoami\"";
    assert_eq!(
        get(
            "keyward_http_requests_total",
            &[whoami_route, "status=\"200\"", "method=\"GET\""]
        ),
        3.0
    );
    assert_eq!(
        get(
            "keyward_http_requests_total",
            &[whoami_route, "status=\"429\""]
        ),
        1.0
    );
    assert_eq!(
        get(
            "keyward_http_requests_total",
            &[whoami_route, "status=\"401\""]
        ),
        1.0
    );
    assert_eq!(
        get(
            "keyward_http_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ),
        2.0,
        "unknown paths (the pasted token, /metrics) are one label, not their text"
    );
    assert_eq!(
        get(
            "keyward_http_request_duration_seconds_count",
            &[whoami_route]
        ),
        5.0
    );
    assert!(
        text.contains("keyward_http_request_duration_seconds_bucket{"),
        "a histogram"
    );
    assert_eq!(
        get(
            "keyward_verifications_total",
            &["outcome=\"ok\"", "purpose=\"request\""]
        ),
        3.0
    );
    assert_eq!(
        get("keyward_verifications_total", &["outcome=\"rate_limited\""]),
        1.0
    );
    assert_eq!(
        get("keyward_verifications_total", &["outcome=\"invalid\""]),
        1.0
    );
    assert!(get("keyward_token_cache_lookups_total", &["result=\"hit\""]) >= 2.0);
    assert_eq!(get("keyward_token_cache_entries", &[]), 1.0);
    assert_eq!(
        get("keyward_tokens_live", &["kind=\"service_account\""]),
        1.0
    );
    assert_eq!(get("keyward_tokens_live", &["kind=\"personal\""]), 0.0);
    assert_eq!(get("keyward_logins_total", &["outcome=\"invalid\""]), 1.0);
    assert!(get("keyward_usage_flush_lag_seconds", &[]) >= 0.0);
    let pool = if b == Backend::Sqlite { "read" } else { "main" };
    let pool_label = format!("pool=\"{pool}\"");
    assert!(
        get(
            "keyward_db_pool_connections",
            &[&pool_label, "state=\"idle\""]
        ) >= 1.0
    );
    assert!(sample(
        &text,
        "keyward_db_pool_connections",
        &[&pool_label, "state=\"in_use\""]
    )
    .is_some());
    assert!(
        !text.contains(&secret[secret.len() - 10..]),
        "no secret in metrics"
    );

    proc.stop();
    let log = proc.stderr();
    assert!(
        !log.contains("QUERYSECRET123"),
        "query strings are never logged"
    );
    assert!(
        !log.contains("PASTEDPATHSECRET"),
        "raw unmatched paths are never logged"
    );
    assert!(
        !log.contains(&secret[secret.len() - 10..]),
        "no secret in the log"
    );
    let access: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request" && v.get("route").is_some())
        .collect();
    let line = |id: &str| {
        access
            .iter()
            .find(|v| v["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id} in:\n{log}"))
    };
    let first = line(&ids[0]);
    assert_eq!(first["method"], "GET");
    assert_eq!(first["route"], "/api/v1/whoami");
    assert_eq!(first["status"], 200);
    assert_eq!(first["client_ip"], "127.0.0.1");
    assert!(first["ms"].as_f64().is_some());
    assert_eq!(line("lb-trace-0042")["status"], 429);
    assert_eq!(line(&replaced)["status"], 401);
    assert!(
        !access
            .iter()
            .any(|v| v["route"] == "/healthz" || v["route"] == "/readyz"),
        "health probes stay out of the info log"
    );
}
