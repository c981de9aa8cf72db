//! Webhooks: every event type reaches a real local receiver with a valid Standard Webhooks
//! signature; a receiver that is down gets the event after it comes back (across a restart);
//! two processes deliver each event once; SSRF targets are refused; the secret is never
//! stored in plain text.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::backend::auth::Principal;
use app::backend::service::webhooks;
use app::domain::Role;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::harness::*;

backends!(
    every_event_type_arrives_signed,
    a_receiver_down_gets_the_event_after_a_restart,
    two_processes_deliver_each_event_once,
    ssrf_targets_are_refused,
    cli_creates_and_lists_endpoints,
    admins_manage_endpoints_over_http,
    failing_endpoints_are_disabled_and_old_deliveries_pruned,
    each_revocation_is_announced_once,
    expiry_events_are_sent_once_per_threshold,
    the_stale_policy_revokes_what_its_preview_named,
    the_expiry_scan_reaches_every_token_beyond_one_batch,
    a_backlog_on_one_endpoint_does_not_fill_a_round,
);

#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A local receiver: records every request and answers 204.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        Self::on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    async fn on(listener: tokio::net::TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let sink = sink.clone();
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    sink.lock().unwrap().push(Got {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body,
                    });
                    AxStatus::NO_CONTENT
                }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { addr, got, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The receiver's side of Standard Webhooks, written from the specification.
fn verify(secret: &str, got: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.id, got.timestamp, got.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    got.signature.split(' ').any(|s| s == expected)
}

fn types(got: &[Got]) -> Vec<String> {
    got.iter()
        .map(|g| {
            serde_json::from_str::<Value>(&g.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn app_allowing_private(db: &TestDb) -> TestApp {
    let mut config = db.config();
    config.webhook_allow_private = true;
    TestApp::start_with(config).await
}

async fn create_endpoint(app: &TestApp, url: &str, events: &str) -> (i64, String) {
    let created = webhooks::create(&app.state, &Principal::operator(), url, events, "test")
        .await
        .expect("endpoint created");
    (created.endpoint.id, created.secret.expose().to_string())
}

const LONG: Duration = Duration::from_secs(60);

async fn every_event_type_arrives_signed(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(), "all").await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "deploy_bot", "deployment").await;
    let (rotated, s1) = create_token(&admin, account, "rotated").await;
    let rotated = rotated.to_string();
    admin
        .post("tokens/rotate", &[("id", &rotated), ("grace", "none")])
        .await;
    admin.post("tokens/revoke", &[("id", &rotated)]).await;
    let (_, leaked) = create_token(&admin, account, "leaked").await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/tokens/report-leak"))
        .json(&json!({ "tokens": [leaked] }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let (bulk, s3) = create_token(&admin, account, "bulk").await;
    let (status, body) = admin
        .post("tokens/revoke-selected", &[("ids[]", &bulk.to_string())])
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (_, s4) = create_token(&admin, account, "orphan").await;
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &account.to_string()), ("enabled", "false")],
        )
        .await;
    let (status, body) = admin
        .post(
            "service-accounts/delete",
            &[("id", &account.to_string()), ("confirm_name", "deploy_bot")],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    webhooks::send_test(&app.state, &Principal::operator(), endpoint)
        .await
        .unwrap();

    let mut expected = vec![
        "token.created",
        "token.created",
        "token.created",
        "token.created",
        "token.rotated",
        "token.revoked",
        "token.revoked",
        "token.revoked",
        "token.revoked",
        "token.leak_reported",
        "service_account.disabled",
        "service_account.deleted",
        "webhook.test",
    ];
    expected.sort();
    let arrived = eventually(LONG, || async {
        types(&receiver.got()).len() >= expected.len()
    })
    .await;
    let got = receiver.got();
    let mut seen = types(&got);
    seen.sort();
    assert!(arrived, "got {seen:?}");
    assert_eq!(seen, expected);
    for g in &got {
        assert!(verify(&secret, g), "bad signature on {}", g.body);
        assert!(g.id.starts_with("msg_"));
        for s in [&s1, &leaked, &s3, &s4, &secret] {
            assert!(!g.body.contains(s.as_str()), "a secret in {}", g.body);
        }
    }
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "one webhook-id per event");
    // The revocations carry their reasons, the payload the token's public facts.
    let bodies: Vec<Value> = got
        .iter()
        .map(|g| serde_json::from_str(&g.body).unwrap())
        .collect();
    let mut reasons: Vec<&str> = bodies
        .iter()
        .filter(|v| v["type"] == "token.revoked")
        .map(|v| v["data"]["reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["bulk", "leak_report", "manual", "owner_deleted"]);
    let created = bodies
        .iter()
        .find(|v| v["type"] == "token.created" && v["data"]["name"] == "rotated")
        .unwrap();
    assert!(created["data"]["display_prefix"]
        .as_str()
        .unwrap()
        .starts_with("kwsa_"));
    assert_eq!(created["data"]["owner"]["name"], "deploy_bot");
    assert!(created["data"]["expires_at"].is_string());
    assert_eq!(
        created["data"]["link"],
        app.url(&format!("/service-accounts/{account}"))
    );
    // The delivery log has each attempt, with its status code.
    let state = app.state.clone();
    assert!(
        eventually(LONG, || async {
            webhooks::deliveries(&state, &Principal::operator(), endpoint)
                .await
                .unwrap()
                .len()
                == expected.len()
        })
        .await
    );
    let log = webhooks::deliveries(&app.state, &Principal::operator(), endpoint)
        .await
        .unwrap();
    assert!(log.iter().all(|d| d.status_code == Some(204)));
    // The secret is stored sealed, never in plain text.
    app.stop().await;
    let contents = database_contents(&db).await;
    assert!(!contains(&contents, &secret));
    assert!(!contains(&contents, secret.trim_start_matches("whsec_")));
}

async fn a_receiver_down_gets_the_event_after_a_restart(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    // Nothing listens on the port yet.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (endpoint, secret) = create_endpoint(&app, &url, "token.created").await;
    webhooks::send_test(&app.state, &Principal::operator(), endpoint)
        .await
        .unwrap();
    let state = app.state.clone();
    let failed = eventually(LONG, || async {
        let log = webhooks::deliveries(&state, &Principal::operator(), endpoint)
            .await
            .unwrap();
        log.first()
            .is_some_and(|d| d.error.as_deref() == Some("connect") && d.next_retry_at.is_some())
    })
    .await;
    assert!(failed, "the first attempt fails and a retry is scheduled");
    let log = webhooks::deliveries(&state, &Principal::operator(), endpoint)
        .await
        .unwrap();
    assert_eq!(log[0].event_state, app::model::EventState::Retrying);
    let retry_in = log[0].next_retry_at.unwrap() - log[0].at;
    assert!(
        (1..=60).contains(&retry_in),
        "first retry within a minute: {retry_in}"
    );
    let failing = webhooks::list(&state, &Principal::operator())
        .await
        .unwrap();
    assert!(failing[0].failing_since.is_some());
    app.stop().await;

    // The receiver comes back, Keyward restarts; the retry is due once the clock moves on.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let receiver = Receiver::on(listener).await;
    let app = app_allowing_private(&db).await;
    app.state.clock.advance(120);
    assert!(eventually(LONG, || async { !receiver.got().is_empty() }).await);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert!(verify(&secret, &got[0]));
    assert_eq!(types(&got), ["webhook.test"]);
    let state = app.state.clone();
    assert!(
        eventually(LONG, || async {
            webhooks::deliveries(&state, &Principal::operator(), endpoint)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.status_code == Some(204) && d.attempt == 2)
        })
        .await
    );
    // The failed first attempt now shows its event as delivered (no "Redeliver" on it).
    let log = webhooks::deliveries(&state, &Principal::operator(), endpoint)
        .await
        .unwrap();
    assert!(log
        .iter()
        .all(|d| d.event_state == app::model::EventState::Delivered));
    let endpoints = webhooks::list(&state, &Principal::operator())
        .await
        .unwrap();
    assert_eq!(endpoints[0].failing_since, None);
    app.stop().await;
}

async fn two_processes_deliver_each_event_once(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    // A second process: its own pool and worker on the same database.
    let mut config = db.config();
    config.webhook_allow_private = true;
    let other = server::startup::build_state(&config).await.unwrap();
    let other_worker = tokio::spawn(other.webhook_worker().run());
    let receiver = Receiver::start().await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(), "token.created").await;
    const EVENTS: usize = 40;
    for _ in 0..EVENTS {
        webhooks::send_test(&app.state, &Principal::operator(), endpoint)
            .await
            .unwrap();
    }
    assert!(eventually(LONG, || async { receiver.got().len() >= EVENTS }).await);
    // Time for a duplicate to show up, if any worker were to send one.
    let state = app.state.clone();
    assert!(
        eventually(LONG, || async {
            count_sql(
                &state,
                "SELECT COUNT(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL",
            )
            .await
                == 0
        })
        .await
    );
    let got = receiver.got();
    assert_eq!(got.len(), EVENTS, "each event delivered once");
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS);
    assert!(got.iter().all(|g| verify(&secret, g)));
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM webhook_deliveries").await,
        EVENTS as i64
    );
    other_worker.abort();
    other.db.close();
    app.stop().await;
}

async fn ssrf_targets_are_refused(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://100.64.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "http://example.com/hook",
    ] {
        let err = webhooks::create(&app.state, &Principal::operator(), url, "all", "")
            .await
            .expect_err(url);
        assert!(
            matches!(&err, app::errors::AppError::Invalid { field: Some(f), .. } if f == "url"),
            "{url}: {err:?}"
        );
    }
    // An endpoint stored where private targets were allowed (written directly here) is still
    // refused at delivery by a process that does not allow them.
    let receiver = Receiver::start().await;
    let endpoint = {
        use app::backend::repo::webhooks::{insert_endpoint, NewEndpoint};
        let secret = app::backend::crypto::new_webhook_secret();
        let sealed = app.state.key.seal_webhook_secret(&secret);
        let mut pooled = app.state.db.get_writer().await.unwrap();
        insert_endpoint(
            &mut pooled.conn(),
            &NewEndpoint {
                url: &receiver.url(),
                description: "",
                events: "token.created",
                secret_sealed: &sealed,
                secret_hint: "whsec_",
                enabled: true,
                created_at: 0,
                created_by_label: "lab",
            },
        )
        .await
        .unwrap()
        .id
    };
    webhooks::send_test(&app.state, &Principal::operator(), endpoint)
        .await
        .unwrap();
    let state = app.state.clone();
    assert!(
        eventually(LONG, || async {
            webhooks::deliveries(&state, &Principal::operator(), endpoint)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.error.as_deref() == Some("refused_address"))
        })
        .await
    );
    assert!(receiver.got().is_empty());
    app.stop().await;
}

async fn cli_creates_and_lists_endpoints(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, stderr) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "deployment",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let allow = [("KEYWARD_WEBHOOK_ALLOW_PRIVATE", "1")];
    let (ok, stdout, stderr) = keyward_env(
        &db,
        &[
            "webhook",
            "create",
            "--url",
            "http://127.0.0.1:9/hook",
            "--events",
            "token.created,token.revoked",
            "--description",
            "ci",
        ],
        None,
        &allow,
    );
    assert!(ok, "{stderr}");
    let secret = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "only the secret on stdout");
    assert!(secret.starts_with("whsec_"));
    assert!(STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
    assert!(!stderr.contains(secret));
    let (ok, stdout, stderr) = keyward(&db, &["webhook", "list", "--json"], None);
    assert!(ok, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(list[0]["events"], json!(["token.created", "token.revoked"]));
    assert_eq!(list[0]["enabled"], true);
    assert!(!stdout.contains(secret));
    // Without the setting: https only, and no private address.
    for url in ["http://example.com/hook", "https://127.0.0.1/hook"] {
        let (ok, stdout, _) = keyward(
            &db,
            &["webhook", "create", "--url", url, "--events", "all"],
            None,
        );
        assert!(!ok, "{url} accepted");
        assert!(stdout.is_empty());
    }
    let contents = database_contents(&db).await;
    assert!(!contains(&contents, secret));
}

async fn admins_manage_endpoints_over_http(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    let url = receiver.url();
    let power = app.user("power@example.com", Role::PowerUser).await;
    let (status, _) = power
        .post("webhooks/create", &[("url", &url), ("events", "all")])
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, _) = power.get("webhooks/list", &[]).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);

    let admin = app.user("admin@example.com", Role::Admin).await;
    let (status, body) = admin
        .post(
            "webhooks/create",
            &[
                ("url", &url),
                ("events", "token.created"),
                ("description", "ci"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    let id = body["endpoint"]["id"].as_i64().unwrap().to_string();
    let (status, body) = admin
        .post("webhooks/create", &[("url", "ftp://x"), ("events", "all")])
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "url");
    let (status, list) = admin.get("webhooks/list", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(list[0]["url"], url.as_str());
    assert!(!list.to_string().contains(&secret));
    // The page's hint is a fingerprint: no piece of the secret is stored in plain text.
    let fingerprint = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(secret.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}", &hex[..12])
    };
    assert_eq!(list[0]["secret_hint"], fingerprint.as_str());
    create_account(&admin, "hook_owner", "viewer").await; // what the dump checks it covers
    assert!(!contains(&database_contents(&db).await, &secret[..10]));

    let (status, _) = admin.post("webhooks/send-test", &[("id", &id)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(eventually(LONG, || async { receiver.got().len() == 1 }).await);
    assert!(verify(&secret, &receiver.got()[0]));
    // The receiver has the request before the worker has written down its answer.
    let deliveries = || async {
        let (status, log) = admin.get("webhooks/deliveries", &[("id", &id)]).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        log
    };
    assert!(
        eventually(LONG, || async {
            deliveries().await[0]["status_code"] == 204
        })
        .await
    );
    let log = deliveries().await;
    assert_eq!(log[0]["event_state"], "delivered", "{log}");
    // Redelivering sends the same event again, with the same webhook-id.
    let outbox = log[0]["outbox_id"].as_i64().unwrap().to_string();
    let (status, body) = admin
        .post("webhooks/redeliver", &[("outbox_id", &outbox)])
        .await;
    assert_eq!(
        status,
        reqwest::StatusCode::CONFLICT,
        "a delivered event: {body}"
    );

    let (status, body) = admin
        .post("webhooks/set-enabled", &[("id", &id), ("enabled", "false")])
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    let (status, _) = admin.post("webhooks/delete", &[("id", &id)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (_, list) = admin.get("webhooks/list", &[]).await;
    assert_eq!(list, json!([]));
    let (_, audit) = admin
        .get("audit/list", &[("action", "webhook.create")])
        .await;
    assert_eq!(audit["total"], 1);
    app.stop().await;
}

/// An endpoint whose every attempt failed for 3 days is disabled by Keyward itself (audited
/// once, a banner on the page); after 30 days events and the delivery log are pruned.
async fn failing_endpoints_are_disabled_and_old_deliveries_pruned(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let receiver = Receiver::start().await;
    let (good, _) = create_endpoint(&app, &receiver.url(), "token.created").await;
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let (bad, _) = create_endpoint(&app, &dead, "token.created").await;
    for id in [good, bad] {
        webhooks::send_test(&app.state, &Principal::operator(), id)
            .await
            .unwrap();
    }
    let state = app.state.clone();
    assert!(
        eventually(LONG, || async {
            let list = webhooks::list(&state, &Principal::operator())
                .await
                .unwrap();
            !receiver.got().is_empty()
                && list
                    .iter()
                    .any(|e| e.id == bad && e.failing_since.is_some())
        })
        .await,
        "one delivered, one failing"
    );
    let worker = app.state.webhook_worker();
    let audited = "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'webhook.update' \
         AND actor_kind = 'system'";

    // Not yet three days: nothing happens.
    app.state.clock.advance(2 * 86_400);
    assert_eq!(
        worker.housekeep().await.unwrap().disabled,
        Vec::<i64>::new()
    );
    let (_, page) = admin.page("/settings/webhooks").await;
    assert!(!page.contains("failed for 3 days"), "no banner yet");

    app.state.clock.advance(86_400 + 60);
    assert_eq!(worker.housekeep().await.unwrap().disabled, vec![bad]);
    assert_eq!(
        worker.housekeep().await.unwrap().disabled,
        Vec::<i64>::new()
    );
    assert_eq!(count_sql(&app.state, audited).await, 1);
    let list = webhooks::list(&state, &Principal::operator())
        .await
        .unwrap();
    let (g, d) = (
        list.iter().find(|e| e.id == good).unwrap(),
        list.iter().find(|e| e.id == bad).unwrap(),
    );
    assert!(g.enabled && g.failing_since.is_none());
    assert!(!d.enabled && d.failing_since.is_some());
    let (status, page) = admin.page("/settings/webhooks").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        page.contains("1 endpoint was disabled because every delivery to it failed for 3 days."),
        "banner"
    );

    // 30 days on: the events and both logs are gone, the endpoints stay.
    let rows = |table: &str, endpoint: i64| {
        format!("SELECT COUNT(*) AS n FROM {table} WHERE endpoint_id = {endpoint}")
    };
    assert_eq!(
        count_sql(&app.state, &rows("webhook_outbox", good)).await,
        1
    );
    assert!(count_sql(&app.state, &rows("webhook_deliveries", bad)).await >= 1);
    app.state.clock.advance(30 * 86_400);
    assert!(worker.housekeep().await.unwrap().pruned >= 3);
    assert_eq!(
        count_sql(&app.state, &rows("webhook_outbox", good)).await,
        0
    );
    assert_eq!(
        count_sql(&app.state, &rows("webhook_deliveries", good)).await,
        0
    );
    assert_eq!(
        count_sql(&app.state, &rows("webhook_deliveries", bad)).await,
        0
    );
    app.stop().await;
}

/// A bulk revoke announces exactly the tokens it revoked (not one revoked before it), and
/// removing a person announces each of their tokens (reason `owner_removed`).
async fn each_revocation_is_announced_once(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    create_endpoint(&app, &receiver.url(), "token.revoked").await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "deploy_bot", "deployment").await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        ids.push(create_token(&admin, account, name).await.0.to_string());
    }
    let (status, body) = admin.post("tokens/revoke", &[("id", &ids[0])]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let selected: Vec<(&str, &str)> = ids.iter().map(|id| ("ids[]", id.as_str())).collect();
    let (status, body) = admin.post("tokens/revoke-selected", &selected).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    let dev = app.user("dev@example.com", Role::Deployment).await;
    for name in ["laptop", "build_agent"] {
        let (status, body) = dev
            .post("me/tokens/create", &[("name", name), ("expires_in", "30")])
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
    let dev_id = count_sql(
        &app.state,
        "SELECT id AS n FROM users WHERE email = 'dev@example.com'",
    )
    .await;
    let (status, body) = admin
        .post("team/remove", &[("id", &dev_id.to_string())])
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    let reasons = |reason: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM webhook_outbox WHERE event_type = 'token.revoked' \
             AND payload LIKE '%\"reason\":\"{reason}\"%'"
        )
    };
    assert_eq!(count_sql(&app.state, &reasons("manual")).await, 1);
    assert_eq!(
        count_sql(&app.state, &reasons("bulk")).await,
        2,
        "not the one revoked before"
    );
    assert_eq!(count_sql(&app.state, &reasons("owner_removed")).await, 2);
    assert!(eventually(LONG, || async { receiver.got().len() == 5 }).await);
    app.stop().await;
}

const DAY: i64 = 86_400;

async fn expiry_events_are_sent_once_per_threshold(b: Backend) {
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    let (_, secret) = create_endpoint(&app, &receiver.url(), "token.expiring,token.expired").await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "deploy_bot", "deployment").await;
    let expires_in = |id: i64, days: i64| {
        format!(
            "UPDATE tokens SET expires_at = created_at + {} WHERE id = {id}",
            days * DAY
        )
    };
    let (long, _) = create_token(&admin, account, "long").await;
    exec_sql(&app.state, &expires_in(long, 20)).await;
    let (short, _) = create_token(&admin, account, "short").await;
    exec_sql(&app.state, &expires_in(short, 5)).await;
    let (revoked, _) = create_token(&admin, account, "revoked").await;
    exec_sql(&app.state, &expires_in(revoked, 20)).await;
    admin
        .post("tokens/revoke", &[("id", &revoked.to_string())])
        .await;

    // A second process on the same database, its clock moved with the app's.
    let mut config = db.config();
    config.webhook_allow_private = true;
    let other = server::startup::build_state(&config).await.unwrap();
    let mut other_worker = other.webhook_worker();
    other_worker.clock = app.state.clock.clone();
    let worker = app.state.webhook_worker();
    let state = app.state.clone();
    let outbox = |event: &'static str| {
        let state = state.clone();
        async move {
            count_sql(
                &state,
                &format!("SELECT COUNT(*) AS n FROM webhook_outbox WHERE event_type = '{event}'"),
            )
            .await
        }
    };
    // Both processes scan at once, twice: each notice is written once.
    let scan = || async {
        for _ in 0..2 {
            let (a, b) = tokio::join!(worker.scan_expiry(), other_worker.scan_expiry());
            a.unwrap();
            b.unwrap();
        }
    };
    let mut elapsed = 0;
    let mut at = |secs: i64| {
        app.state.clock.advance(secs - elapsed);
        elapsed = secs;
    };

    scan().await;
    assert_eq!(outbox("token.expiring").await, 0);
    // 23 hours before the short token expires: its 1-day warning (never 14 or 7).
    at(4 * DAY + 3600);
    scan().await;
    assert_eq!(outbox("token.expiring").await, 1);
    // An hour after it expired.
    at(5 * DAY + 3600);
    scan().await;
    assert_eq!(outbox("token.expired").await, 1);
    // 13 days before the long token expires: 14 days.
    at(7 * DAY);
    scan().await;
    assert_eq!(outbox("token.expiring").await, 2);
    // 6 days before: 7 days.
    at(14 * DAY);
    scan().await;
    assert_eq!(outbox("token.expiring").await, 3);
    // 12 hours before: 1 day.
    at(20 * DAY - 12 * 3600);
    scan().await;
    assert_eq!(outbox("token.expiring").await, 4);
    // Past expiry: expired; a day later nothing more.
    at(20 * DAY + 60);
    scan().await;
    assert_eq!(outbox("token.expired").await, 2);
    at(22 * DAY);
    scan().await;
    assert_eq!(outbox("token.expiring").await, 4);
    assert_eq!(outbox("token.expired").await, 2);

    assert!(eventually(LONG, || async { receiver.got().len() >= 6 }).await);
    let got = receiver.got();
    assert_eq!(got.len(), 6, "each notice delivered once");
    assert!(got.iter().all(|g| verify(&secret, g)), "signed");
    let mut seen: Vec<(i64, String, Option<i64>)> = got
        .iter()
        .map(|g| {
            let v: Value = serde_json::from_str(&g.body).unwrap();
            assert!(v["data"]["name"].is_string());
            (
                v["data"]["id"].as_i64().unwrap(),
                v["type"].as_str().unwrap().to_string(),
                v["data"]["days"].as_i64(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (short, "token.expiring".to_string(), Some(1)),
        (short, "token.expired".to_string(), None),
        (long, "token.expiring".to_string(), Some(14)),
        (long, "token.expiring".to_string(), Some(7)),
        (long, "token.expiring".to_string(), Some(1)),
        (long, "token.expired".to_string(), None),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    assert!(
        !seen.iter().any(|(id, _, _)| *id == revoked),
        "revoked: nothing"
    );
    other.db.close();
    app.stop().await;
}

/// The stale-token policy (30 days): its preview names the tokens unused for 23 days or more;
/// turned on, the job warns exactly those (`token.expiring`, reason `unused`), once, and a week
/// later revokes exactly those still unused (reason `policy`, one audit record each), while a
/// token used after its warning stays; a restored token gets a fresh week.
async fn the_stale_policy_revokes_what_its_preview_named(b: Backend) {
    const DAY: i64 = 86_400;
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    create_endpoint(&app, &receiver.url(), "token.expiring,token.revoked").await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let power = app.user("power@example.com", Role::PowerUser).await;
    let account = create_account(&admin, "deploy_bot", "deployment").await;
    let now = app.state.clock.now();
    // (name, created days ago, last used days ago)
    let layout: [(&str, i64, Option<i64>); 7] = [
        ("never_used_old", 100, None),
        ("used_long_ago", 100, Some(40)),
        ("used_24_days_ago", 60, Some(24)),
        ("used_lately", 60, Some(10)),
        ("new_never_used", 0, None),
        ("revoked_old", 100, None),
        ("expired_old", 100, None),
    ];
    let mut ids = std::collections::HashMap::new();
    let mut secrets = std::collections::HashMap::new();
    for (name, created, used) in layout {
        let (id, secret) = create_token(&admin, account, name).await;
        let used = used.map_or("NULL".to_string(), |d| (now - d * DAY).to_string());
        exec_sql(
            &app.state,
            &format!(
                "UPDATE tokens SET created_at = {}, last_used_at = {used} WHERE id = {id}",
                now - created * DAY
            ),
        )
        .await;
        ids.insert(name, id);
        secrets.insert(name, secret);
    }
    let revoked_id = ids["revoked_old"].to_string();
    let (status, body) = admin.post("tokens/revoke", &[("id", &revoked_id)]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    exec_sql(
        &app.state,
        &format!(
            "UPDATE tokens SET expires_at = {} WHERE id = {}",
            now - DAY,
            ids["expired_old"]
        ),
    )
    .await;

    // Bad input and the wrong role change nothing.
    let (status, body) = admin.get("settings/stale-preview", &[("days", "5")]).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "stale_token_days");
    let (status, _) = power.get("settings/stale-preview", &[("days", "30")]).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, _) = power.post("settings/stale-policy", &[("days", "30")]).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, body) = admin
        .post("settings/stale-policy", &[("days", "abc")])
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let worker = app.state.webhook_worker();
    assert_eq!(
        worker.apply_stale_policy().await.unwrap(),
        Default::default(),
        "off"
    );

    let (status, preview) = admin.get("settings/stale-preview", &[("days", "30")]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{preview}");
    let named: std::collections::BTreeSet<i64> = preview["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    let expected: std::collections::BTreeSet<i64> = [
        ids["never_used_old"],
        ids["used_long_ago"],
        ids["used_24_days_ago"],
    ]
    .into();
    assert_eq!(named, expected, "{preview}");
    assert_eq!(preview["count"], 3);
    assert_eq!(preview["unused_full_period"], 2);
    let (status, page) = admin.page("/settings?stale_days=30").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        page.contains("3 tokens have been unused for 23 days or more"),
        "page preview"
    );

    let (status, body) = admin.post("settings/stale-policy", &[("days", "30")]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["stale_token_days"], 30);

    // Day 0: the warnings, once.
    let run = worker.apply_stale_policy().await.unwrap();
    assert_eq!(
        run.warned
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        named
    );
    assert!(
        run.revoked.is_empty(),
        "nothing revoked without a week's warning"
    );
    assert_eq!(
        worker.apply_stale_policy().await.unwrap(),
        Default::default(),
        "warned once"
    );
    let bodies = || {
        receiver
            .got()
            .iter()
            .map(|g| serde_json::from_str::<Value>(&g.body).unwrap())
            .collect::<Vec<_>>()
    };
    let of_type = |t: &str| {
        bodies()
            .into_iter()
            .filter(|b| b["type"] == t)
            .collect::<Vec<_>>()
    };
    assert!(eventually(LONG, || async { of_type("token.expiring").len() >= 3 }).await);
    let warned: std::collections::BTreeSet<i64> = of_type("token.expiring")
        .iter()
        .map(|body| {
            assert_eq!(body["data"]["reason"], "unused");
            assert_eq!(body["data"]["days"], 7);
            body["data"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(warned, named);
    // The console says it too, on the token's page.
    let (status, page) = admin
        .page(&format!("/tokens/{}", ids["used_long_ago"]))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        page.contains("the stale-token policy revokes this token on"),
        "token page notice"
    );
    let (_, page) = admin.page(&format!("/tokens/{}", ids["used_lately"])).await;
    assert!(!page.contains("stale-token policy revokes"));

    // The 24-day token is used after its warning: it stays.
    let http = reqwest::Client::new();
    let res = http
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(&secrets["used_24_days_ago"])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    app.state.flush_usage().await;

    // Six days on: still nothing; seven: the two still unused go.
    app.state.clock.advance(6 * DAY);
    assert!(worker
        .apply_stale_policy()
        .await
        .unwrap()
        .revoked
        .is_empty());
    app.state.clock.advance(DAY + 60);
    let run = worker.apply_stale_policy().await.unwrap();
    let mut revoked = run.revoked.clone();
    revoked.sort();
    let mut gone = vec![ids["never_used_old"], ids["used_long_ago"]];
    gone.sort();
    assert_eq!(revoked, gone);
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'token.revoke' \
             AND actor_kind = 'system' AND details LIKE '%\"reason\":\"policy\"%'"
        )
        .await,
        2
    );
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM tokens WHERE revoke_reason = 'policy'"
        )
        .await,
        2
    );
    let policy_revoked = || {
        of_type("token.revoked")
            .iter()
            .filter(|b| b["data"]["reason"] == "policy")
            .map(|b| b["data"]["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert!(eventually(LONG, || async { policy_revoked().len() >= 2 }).await);
    let mut announced = policy_revoked();
    announced.sort();
    assert_eq!(announced, gone);
    // The job runs outside a request: the token cache learns of it through the auth epoch.
    assert!(
        eventually(LONG, || async {
            http.get(app.url("/api/v1/whoami"))
                .bearer_auth(&secrets["never_used_old"])
                .send()
                .await
                .unwrap()
                .status()
                == reqwest::StatusCode::UNAUTHORIZED
        })
        .await,
        "a revoked token stops working"
    );

    // Restored: a fresh week of warning, not a revocation at the next run.
    let restored = ids["never_used_old"].to_string();
    let (status, body) = admin.post("tokens/restore", &[("id", &restored)]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let run = worker.apply_stale_policy().await.unwrap();
    assert_eq!(run.warned, vec![ids["never_used_old"]]);
    assert!(run.revoked.is_empty());

    // Off: nothing more happens.
    let (status, body) = admin.post("settings/stale-policy", &[("days", "")]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["stale_token_days"], Value::Null);
    app.state.clock.advance(30 * DAY);
    assert_eq!(
        worker.apply_stale_policy().await.unwrap(),
        Default::default()
    );
    // On again a month later: the old warning does not count, the token gets a new week.
    exec_sql(
        &app.state,
        &format!(
            "UPDATE tokens SET expires_at = NULL WHERE id = {}",
            ids["never_used_old"]
        ),
    )
    .await;
    let (status, body) = admin.post("settings/stale-policy", &[("days", "30")]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let run = worker.apply_stale_policy().await.unwrap();
    assert!(
        run.revoked.is_empty(),
        "no revocation on an old policy's warning"
    );
    assert!(run.warned.contains(&ids["never_used_old"]));
    app.stop().await;
}

/// More tokens expiring within the week than one scan takes (1,000): each scan moves on to the
/// ones without their notice, so every token gets it (an earlier scan kept re-reading the same
/// first thousand, and the rest never heard).
async fn the_expiry_scan_reaches_every_token_beyond_one_batch(b: Backend) {
    const DAY: i64 = 86_400;
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &["dev", "seed", "--tokens", "1500", "--accounts", "10"],
        None,
    );
    assert!(ok, "{err}");
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    let now = app.state.clock.now();
    // Before any endpoint exists (no scan writes anything without one): the app's own worker
    // may scan at any moment, and must see the expiries this test is about, not the seed's.
    exec_sql(
        &app.state,
        &format!(
            "UPDATE tokens SET created_at = {}, expires_at = {} + id, revoked_at = NULL, \
             revoke_reason = NULL",
            now - 30 * DAY,
            now + 5 * DAY
        ),
    )
    .await;
    create_endpoint(&app, &receiver.url(), "token.expiring").await;
    let eligible = count_sql(
        &app.state,
        "SELECT COUNT(*) AS n FROM tokens WHERE owner_disabled = false",
    )
    .await;
    assert!(eligible > 1000, "{eligible}");
    let worker = app.state.webhook_worker();
    for _ in 0..3 {
        worker.scan_expiry().await.unwrap();
    }
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM webhook_expiry_notices WHERE threshold = 7"
        )
        .await,
        eligible
    );
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM webhook_outbox WHERE event_type = 'token.expiring' \
             AND payload LIKE '%\"days\":7%'"
        )
        .await,
        eligible,
        "one 7-day warning each"
    );
    app.stop().await;
}

/// An endpoint with a backlog (a receiver that hangs: every attempt waits out the timeout) takes
/// at most `PER_ENDPOINT` rows of a round, so another endpoint's event goes out in the same
/// round instead of waiting behind the backlog.
async fn a_backlog_on_one_endpoint_does_not_fill_a_round(b: Backend) {
    use app::backend::repo::webhooks::{claim_due, insert_outbox, NewOutbox, PER_ENDPOINT};
    let db = TestDb::new(b).await;
    let app = app_allowing_private(&db).await;
    let receiver = Receiver::start().await;
    let (slow, _) = create_endpoint(
        &app,
        &format!("http://127.0.0.1:{}/hook", free_port()),
        "token.created",
    )
    .await;
    let (other, _) = create_endpoint(&app, &receiver.url(), "token.created").await;
    // Due a day from now: the app's own worker leaves them alone; the claim below is the round.
    let due = app.state.clock.now() + 86_400;
    let row = |endpoint: i64, n: i64| NewOutbox {
        endpoint_id: endpoint,
        message_id: format!("msg_test_{endpoint}_{n}"),
        event_type: "token.created".into(),
        payload: "{}".into(),
        created_at: due,
        next_attempt_at: Some(due),
    };
    let mut rows: Vec<NewOutbox> = (0..20).map(|n| row(slow, n)).collect();
    rows.push(row(other, 0));
    let mut pooled = app.state.db.get_writer().await.unwrap();
    let mut conn = pooled.conn();
    assert_eq!(insert_outbox(&mut conn, &rows).await.unwrap(), 21);
    let claimed = claim_due(&mut conn, due, due + 30, 16).await.unwrap();
    let of = |endpoint: i64| claimed.iter().filter(|r| r.endpoint_id == endpoint).count();
    assert_eq!(of(other), 1, "the other endpoint's event is in the round");
    assert_eq!(of(slow) as i64, PER_ENDPOINT);
    // The next round takes the backlog's next rows.
    let next = claim_due(&mut conn, due, due + 30, 16).await.unwrap();
    assert_eq!(next.len() as i64, PER_ENDPOINT);
    assert!(next.iter().all(|r| r.endpoint_id == slow));
    drop(pooled);
    app.stop().await;
}
