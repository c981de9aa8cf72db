//! The audit log for operators: each record carries the id of the request that wrote it, the
//! page filters by a date range, the CSV export honours the filters and the page's permission,
//! and every record reaches the log (target `audit`) through the real binary.

use std::collections::BTreeSet;

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{exec_sql, keyward, Backend, Client, Proc, TestApp, TestDb, PASSWORD};

backends!(
    records_carry_the_request_id,
    date_range_filters_in_the_database,
    csv_export_honours_filters_and_permission,
    records_reach_the_log_with_target_audit,
);

/// Creates a service account with a raw request; returns the response's `X-Request-Id`.
async fn create_account_request(client: &Client, name: &str, sent_id: Option<&str>) -> String {
    let mut req = client
        .http
        .post(client.url_of("/api/fn/service-accounts/create"))
        .form(&[("name", name), ("role", "viewer"), ("description", "")]);
    if let Some(id) = sent_id {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.headers()["x-request-id"].to_str().unwrap().to_string()
}

async fn audit_list(client: &Client, query: &[(&str, &str)]) -> Value {
    let (status, body) = client.get("audit/list", query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The one record of `action` on `target`.
async fn record_of(client: &Client, action: &str, target: &str) -> Value {
    let body = audit_list(client, &[("action", action), ("target", target)]).await;
    assert_eq!(body["total"], 1, "{body}");
    body["items"][0].clone()
}

async fn records_carry_the_request_id(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;

    let id = create_account_request(&admin, "alpha_bot", None).await;
    let record = record_of(&admin, "service_account.create", "alpha_bot").await;
    assert_eq!(record["request_id"], id.as_str());

    // Not from a trusted proxy: the caller's own id is replaced, in the answer and the record.
    let id = create_account_request(&admin, "beta_bot", Some("forged-id-0001")).await;
    assert_ne!(id, "forged-id-0001");
    let record = record_of(&admin, "service_account.create", "beta_bot").await;
    assert_eq!(record["request_id"], id.as_str());

    // The sign-in is recorded with its request's id; the user created by the operator (no
    // request) has none.
    let login = record_of(&admin, "auth.login", "admin@example.com").await;
    let login_id = login["request_id"].as_str().unwrap();
    assert_eq!(login_id.len(), 32, "{login}");
    let created = audit_list(&admin, &[("actor", "local operator")]).await;
    assert!(created["total"].as_i64().unwrap() >= 1, "{created}");
    assert!(created["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["request_id"].is_null()));
    // The page shows it.
    let (status, html) = admin.page("/audit?target=alpha_bot").await;
    assert_eq!(status, StatusCode::OK);
    let alpha = record_of(&admin, "service_account.create", "alpha_bot").await;
    assert!(html.contains(alpha["request_id"].as_str().unwrap()));
    app.stop().await;

    // Behind a trusted proxy, the proxy's id is the record's.
    let mut config = db.config();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::start_with(config).await;
    let admin = app.client();
    let (status, body) = admin.login("admin@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = create_account_request(&admin, "gamma_bot", Some("lb-audit-0007")).await;
    assert_eq!(id, "lb-audit-0007");
    let record = record_of(&admin, "service_account.create", "gamma_bot").await;
    assert_eq!(record["request_id"], "lb-audit-0007");
    app.stop().await;
}

/// 2026-12-01T00:00:00Z.
const DEC_1: i64 = 1_796_083_200;
const DAY: i64 = 86_400;

/// Records on `probe` at fixed times, from just before 1 December to just after 3 December;
/// returns (id, at) of each, oldest first.
async fn seed_probes(app: &TestApp, probe: &str) -> Vec<(i64, i64)> {
    let times = [
        DEC_1 - 1,       // 30 November, last second: out
        DEC_1,           // first second of the range
        DEC_1 + DAY + 7, // 2 December
        DEC_1 + 3 * DAY - 1,
        DEC_1 + 3 * DAY, // 4 December, first second: out
    ];
    for at in times {
        exec_sql(
            &app.state,
            &format!(
                "INSERT INTO audit_events (at, actor_kind, actor_label, action, target_kind, target_label, details) \
                 VALUES ({at}, 'user', 'probe@example.com', 'token.create', 'token', '{probe}', '{{}}')"
            ),
        )
        .await;
    }
    let mut pooled = app.state.db.get().await.unwrap();
    let filter = app::backend::repo::audit::AuditFilter {
        target: Some(probe.to_string()),
        ..Default::default()
    };
    let (rows, _) = app::backend::repo::audit::list(&mut pooled.conn(), &filter, 0, 100)
        .await
        .unwrap();
    let mut out: Vec<(i64, i64)> = rows.iter().map(|r| (r.id, r.at)).collect();
    out.sort_by_key(|(_, at)| *at);
    assert_eq!(out.len(), times.len());
    out
}

fn ids(body: &Value) -> BTreeSet<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn date_range_filters_in_the_database(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let probes = seed_probes(&app, "date-probe").await;
    let pick = |which: &[usize]| -> BTreeSet<i64> { which.iter().map(|i| probes[*i].0).collect() };

    let listed = |from: &'static str, to: &'static str| {
        let admin = admin.clone();
        async move {
            ids(&audit_list(
                &admin,
                &[("target", "date-probe"), ("from", from), ("to", to)],
            )
            .await)
        }
    };
    assert_eq!(listed("2026-12-01", "2026-12-03").await, pick(&[1, 2, 3]));
    assert_eq!(listed("2026-12-02", "2026-12-02").await, pick(&[2]));
    assert_eq!(listed("2026-12-01", "").await, pick(&[1, 2, 3, 4]));
    assert_eq!(listed("", "2026-11-30").await, pick(&[0]));
    assert_eq!(listed("", "").await, pick(&[0, 1, 2, 3, 4]));

    // A bad date is a clear error naming the field, never a 500.
    for (from, to, field) in [
        ("2026-13-01", "", "from"),
        ("yesterday", "", "from"),
        ("", "2026-02-30", "to"),
        ("2026-12-03", "2026-12-01", "to"),
    ] {
        let (status, body) = admin
            .get(
                "audit/list",
                &[("target", "date-probe"), ("from", from), ("to", to)],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{from} {to}: {body}"
        );
        assert_eq!(body["code"], "invalid");
        assert_eq!(body["field"], field);
        assert!(
            body["message"].as_str().unwrap().contains("YYYY-MM-DD")
                || body["message"]
                    .as_str()
                    .unwrap()
                    .contains("before the first day"),
            "{body}"
        );
    }

    // The page (rendered on the server, as without JavaScript) keeps the view in the URL,
    // shows a bad date's message by its field and lists as if it had not been given.
    let (status, html) = admin
        .page("/audit?target=date-probe&from=2026-12-01&to=2026-12-03")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("value=\"2026-12-01\""),
        "the form shows the view"
    );
    assert!(
        html.contains("/audit/export.csv?target=date-probe&amp;from=2026-12-01&amp;to=2026-12-03")
            || html.contains("/audit/export.csv?target=date-probe&from=2026-12-01&to=2026-12-03")
    );
    let (status, html) = admin.page("/audit?target=date-probe&from=yesterday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Enter the first day as YYYY-MM-DD"),
        "the error is on the page"
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(!html.contains("Something went wrong"));
    app.stop().await;
}

async fn export(client: &Client, qs: &str) -> reqwest::Response {
    client
        .http
        .get(client.url_of(&format!("/audit/export.csv?{qs}")))
        .send()
        .await
        .unwrap()
}

fn parse_csv(text: &str) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        server::http::audit_export::HEADER
    );
    reader.records().map(Result::unwrap).collect()
}

async fn csv_export_honours_filters_and_permission(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let probes = seed_probes(&app, "export-probe").await;

    // Who may: the page's rule, enforced by the route.
    let res = export(&app.client(), "").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for (email, role) in [
        ("viewer@example.com", Role::Viewer),
        ("power@example.com", Role::PowerUser),
    ] {
        let user = app.user(email, role).await;
        let res = export(&user, "").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{email}");
        assert!(!res.text().await.unwrap().contains("export-probe"));
    }

    // The filters of the page, the boundaries inclusive.
    let res = export(&admin, "target=export-probe&from=2026-12-01&to=2026-12-03").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"keyward-audit-"));
    assert_eq!(h["cache-control"], "no-store");
    let rows = parse_csv(&res.text().await.unwrap());
    let got: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    let want: Vec<i64> = [3, 2, 1].iter().map(|i| probes[*i].0).collect();
    assert_eq!(got, want, "newest first, only the days asked for");
    assert_eq!(&rows[0][1], "2026-12-03T23:59:59Z");
    assert_eq!(&rows[0][4], "token.create");
    let res = export(&admin, "target=export-probe&action=auth.login").await;
    assert_eq!(parse_csv(&res.text().await.unwrap()).len(), 0);
    // A bad date: the error, not a file.
    let res = export(&admin, "from=2026-12-99").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["field"], "from");

    // Typed text that a spreadsheet would run: a failed sign-in records the e-mail as typed.
    let anonymous = app.client();
    for email in [
        "=hyperlink(\"http://evil.example\")",
        "+1+1",
        "-2+3",
        "@sum(a1)",
    ] {
        let (status, _) = anonymous.login(email, "wrong password!!").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    exec_sql(
        &app.state,
        "INSERT INTO audit_events (at, actor_kind, actor_label, action, target_kind, target_label, details) \
         VALUES (1796083200, 'anonymous', '\t=1+1', 'auth.login_failed', 'user', '\r=2', '{}')",
    )
    .await;
    let res = export(&admin, "action=auth.login_failed").await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows = parse_csv(&res.text().await.unwrap());
    assert_eq!(rows.len(), 5);
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet runs: {cell:?}"
            );
        }
    }
    let actors: BTreeSet<&str> = rows.iter().map(|r| r.get(3).unwrap()).collect();
    assert!(
        actors.contains("'=hyperlink(\"http://evil.example\")"),
        "{actors:?}"
    );
    assert!(actors.contains("'\t=1+1"), "{actors:?}");
    assert!(rows.iter().any(|r| &r[7] == "'\r=2"));
    assert!(rows.iter().all(|r| r[9].len() == 32 || r[9].is_empty()));

    // Longer than a batch: every record once, in order, across batch boundaries (many share
    // a second, so the order needs the id as well).
    exec_sql(
        &app.state,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2345) \
         INSERT INTO audit_events (at, actor_kind, actor_label, action, target_kind, target_label, details) \
         SELECT 1796083200 + i / 7, 'user', 'bulk@example.com', 'token.update', 'token', 'bulk-probe', '{}' FROM n",
    )
    .await;
    let res = export(&admin, "target=bulk-probe").await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows = parse_csv(&res.text().await.unwrap());
    assert_eq!(rows.len(), 2345);
    let keys: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| {
            let at =
                time::OffsetDateTime::parse(&r[1], &time::format_description::well_known::Rfc3339)
                    .unwrap()
                    .unix_timestamp();
            (at, r[0].parse().unwrap())
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    app.stop().await;
}

/// Through the real binary with JSON logs: each record is a log line with target `audit`,
/// the request's id and no secret.
async fn records_reach_the_log_with_target_audit(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--admin", "--email", "ops@example.com"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok, "{err}");
    let mut proc = Proc::serve(&db, &[("KEYWARD_LOG_FORMAT", "json")]).await;
    let client = Client::new(proc.base());
    let res = client
        .http
        .post(client.url_of("/api/fn/auth/login"))
        .form(&[("email", "ops@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let login_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let create_id = create_account_request(&client, "logged_bot", None).await;
    let (status, _) = Client::new(proc.base())
        .login("ops@example.com", "not the password!!")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    proc.stop();

    let log = proc.stderr();
    assert!(!log.contains(PASSWORD), "no password in the log");
    assert!(
        !log.contains("not the password!!"),
        "no password in the log"
    );
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .collect();
    let line = |action: &str| {
        lines
            .iter()
            .find(|v| v["action"] == action)
            .unwrap_or_else(|| panic!("no audit line for {action} in:\n{log}"))
    };
    let login = line("auth.login");
    assert_eq!(login["level"], "INFO");
    assert_eq!(login["request_id"], login_id.as_str());
    assert_eq!(login["actor"], "ops@example.com");
    assert_eq!(login["actor_kind"], "user");
    assert_eq!(login["subject"], "ops@example.com");
    assert_eq!(login["subject_kind"], "user");
    assert_eq!(login["client_ip"], "127.0.0.1");
    let create = line("service_account.create");
    assert_eq!(create["request_id"], create_id.as_str());
    assert_eq!(create["subject"], "logged_bot");
    assert!(create["subject_id"].as_i64().is_some());
    assert!(create["details"].as_str().unwrap().starts_with('{'));
    let failed = line("auth.login_failed");
    assert_eq!(failed["actor_kind"], "anonymous");
    assert_eq!(failed["request_id"].as_str().unwrap().len(), 32);
    assert_eq!(
        lines.len(),
        3,
        "one line per record, none for the command line's (its log is its own): {lines:?}"
    );
}
