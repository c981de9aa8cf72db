//! Usage history: daily counts and client addresses written by the usage flush, the token page
//! (its chart's numbers, its addresses, who may see it, readable without JavaScript), and the
//! notice about one's own tokens that expire soon.

use app::backend::verifier::usage::Use;
use app::domain::usage::{day_of, HISTORY_DAYS};
use app::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{count_sql, create_account, create_token, exec_sql, Backend, TestApp, TestDb};

backends!(
    daily_counts_equal_the_requests,
    only_the_five_latest_client_addresses_are_kept,
    personal_token_pages_follow_their_owner,
    the_page_reads_without_javascript,
    owners_see_tokens_that_expire_within_a_week,
);

const DAY: i64 = 86_400;

/// `n` requests with the token, from `ip` (through the trusted proxy) with user agent `ua`.
async fn use_token(app: &TestApp, secret: &str, n: usize, ip: Option<&str>, ua: &str) {
    let http = reqwest::Client::new();
    for _ in 0..n {
        let mut req = http
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(secret)
            .header("User-Agent", ua);
        if let Some(ip) = ip {
            req = req.header("x-forwarded-for", ip);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

fn behind_proxy(db: &TestDb) -> server::config::Config {
    let mut config = db.config();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    config
}

async fn stored_count(app: &TestApp, token_id: i64, day: Option<i64>) -> i64 {
    let day = day.map(|d| format!(" AND day = {d}")).unwrap_or_default();
    count_sql(
        &app.state,
        &format!(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM token_usage_daily \
             WHERE token_id = {token_id}{day}"
        ),
    )
    .await
}

fn counts(detail: &Value) -> Vec<i64> {
    detail["usage"]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect()
}

async fn daily_counts_equal_the_requests(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (id, secret) = create_token(&admin, account, "deploy").await;
    let today = day_of(app::backend::service::now());
    // Rows beyond the 400-day window go at the next flush; the last day inside it stays.
    let too_old = today - HISTORY_DAYS * DAY;
    let oldest_kept = today - (HISTORY_DAYS - 1) * DAY;
    exec_sql(
        &app.state,
        &format!(
            "INSERT INTO token_usage_daily (token_id, day, count) VALUES \
             ({id}, {too_old}, 9), ({id}, {oldest_kept}, 4)"
        ),
    )
    .await;

    use_token(&app, &secret, 7, None, "deploy-script/1.0").await;
    assert_eq!(
        stored_count(&app, id, Some(today)).await,
        0,
        "nothing written per request"
    );
    app.state.flush_usage().await;
    assert_eq!(stored_count(&app, id, Some(today)).await, 7);
    assert_eq!(stored_count(&app, id, Some(too_old)).await, 0, "pruned");
    assert_eq!(stored_count(&app, id, Some(oldest_kept)).await, 4, "kept");

    // A second flush adds to the day's row.
    use_token(&app, &secret, 3, None, "deploy-script/1.0").await;
    app.state.flush_usage().await;
    assert_eq!(stored_count(&app, id, Some(today)).await, 10);

    // Uses recorded on two earlier days (the recorder takes the time it is given).
    let record = |at: i64| {
        app.state.auth.usage.record(Use {
            token_id: id,
            at,
            ip: Some("192.0.2.1".into()),
            user_agent: Some("batch/1"),
            actor: "ci_bot via token x",
            display_prefix: "x",
        })
    };
    for _ in 0..2 {
        record(today - DAY + 3_600);
    }
    for _ in 0..5 {
        record(today - 2 * DAY + 60);
    }
    app.state.flush_usage().await;
    assert_eq!(stored_count(&app, id, Some(today - DAY)).await, 2);
    assert_eq!(stored_count(&app, id, Some(today - 2 * DAY)).await, 5);

    // The page's numbers are the stored ones: 90 days ending today.
    let (status, detail) = admin.get("tokens/get", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let c = counts(&detail);
    assert_eq!(c.len(), 90);
    assert_eq!(&c[87..], &[5, 2, 10]);
    assert_eq!(
        c.iter().sum::<i64>(),
        17,
        "the 400-day-old row is outside the chart"
    );
    assert_eq!(detail["usage"]["start"], today - 89 * DAY);
    app.stop().await;
}

async fn only_the_five_latest_client_addresses_are_kept(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start_with(behind_proxy(&db)).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (id, secret) = create_token(&admin, account, "deploy").await;
    // Two flushes, so that both the recorder and the stored rows are trimmed.
    for i in 1..=3 {
        let ip = format!("203.0.113.{i}");
        use_token(&app, &secret, 1, Some(&ip), &format!("client-{i}")).await;
    }
    app.state.flush_usage().await;
    let stored = |app: &TestApp| {
        let state = app.state.clone();
        async move {
            count_sql(
                &state,
                &format!("SELECT COUNT(*) AS n FROM token_client_ips WHERE token_id = {id}"),
            )
            .await
        }
    };
    assert_eq!(stored(&app).await, 3);
    for i in 4..=6 {
        let ip = format!("203.0.113.{i}");
        use_token(&app, &secret, 1, Some(&ip), &format!("client-{i}")).await;
    }
    app.state.flush_usage().await;
    assert_eq!(stored(&app).await, 5);

    let (status, detail) = admin.get("tokens/get", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let ips = detail["client_ips"].as_array().unwrap();
    let mut seen: Vec<(String, String)> = ips
        .iter()
        .map(|i| {
            (
                i["ip"].as_str().unwrap().to_string(),
                i["user_agent"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String)> = (2..=6)
        .map(|i| (format!("203.0.113.{i}"), format!("client-{i}")))
        .collect();
    assert_eq!(seen, expected, "the oldest address went");
    for i in ips {
        assert!(i["first_seen"].as_i64().unwrap() <= i["last_seen"].as_i64().unwrap());
    }
    app.stop().await;
}

async fn personal_token_pages_follow_their_owner(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let dev = app.user("dev@example.com", Role::Deployment).await;
    let other = app.user("other@example.com", Role::Deployment).await;
    let (status, body) = dev
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "30")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["token"]["id"].as_i64().unwrap().to_string();

    let (status, body) = other.get("tokens/get", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    let (status, page) = other.page(&format!("/tokens/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("laptop"), "nothing of the token shows");

    let (status, mine) = dev.get("tokens/get", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["token"]["name"], "laptop");
    assert_eq!(mine["audit"], Value::Null, "the audit log is for Admins");

    let (status, theirs) = admin.get("tokens/get", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let actions: Vec<&str> = theirs["audit"]
        .as_array()
        .expect("Admins see the audit trail")
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"token.create"), "{actions:?}");

    let (status, _) = app.client().get("tokens/get", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn the_page_reads_without_javascript(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (id, secret) = create_token(&admin, account, "deploy").await;
    let (idle, _) = create_token(&admin, account, "idle").await;

    let (status, page) = admin.page(&format!("/tokens/{idle}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No requests recorded yet"), "{page}");

    use_token(&app, &secret, 4, None, "deploy-script/1.0").await;
    app.state.flush_usage().await;
    let (status, page) = admin.page(&format!("/tokens/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let today = app::domain::timefmt::date(app::backend::service::now());
    let summary = format!("4 requests in the last 90 days; busiest day {today} with 4.");
    assert!(page.contains(&summary), "summary missing: {page}");
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "{page}"
    );
    assert!(page.contains("usage-bar"), "a bar for today");
    assert!(
        page.contains("deploy-script/1.0"),
        "the client's user agent"
    );

    // Every token list links to the page.
    let (_, list) = admin.page(&format!("/service-accounts/{account}")).await;
    assert!(list.contains(&format!("href=\"/tokens/{id}\"")), "{list}");
    let (_, table) = admin.page("/tokens").await;
    assert!(table.contains(&format!("href=\"/tokens/{id}\"")));
    app.stop().await;
}

async fn owners_see_tokens_that_expire_within_a_week(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let dev = app.user("dev@example.com", Role::Deployment).await;
    let mut ids = Vec::new();
    for name in ["soon", "later"] {
        let (status, body) = dev
            .post("me/tokens/create", &[("name", name), ("expires_in", "90")])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(body["token"]["id"].as_i64().unwrap());
    }
    let now = app::backend::service::now();
    for (id, days) in [(ids[0], 3), (ids[1], 30)] {
        exec_sql(
            &app.state,
            &format!(
                "UPDATE tokens SET expires_at = {} WHERE id = {id}",
                now + days * DAY
            ),
        )
        .await;
    }
    let (status, list) = dev.get("me/tokens/expiring", &[]).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![ids[0]]);

    let (status, page) = dev.page("/service-accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("One of your tokens expires soon"), "{page}");
    assert!(page.contains(&format!("href=\"/tokens/{}\"", ids[0])));
    assert!(!page.contains(&format!("href=\"/tokens/{}\"", ids[1])));

    // Someone else does not see the notice.
    let other = app.user("other@example.com", Role::Deployment).await;
    let (_, page) = other.page("/service-accounts").await;
    assert!(!page.contains("expires soon"));
    app.stop().await;
}
