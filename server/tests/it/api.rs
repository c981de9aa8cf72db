//! The automation API: bearer authentication and its error codes, whoami, introspection, read
//! endpoints, the management refusal, leak reports, usage, restrictions, and two processes.

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{
    create_account, create_token, eventually, exec_sql, Backend, Client, Proc, TestApp, TestDb,
};

backends!(
    bearer_failures_answer_with_codes_and_www_authenticate,
    whoami_reports_the_token_and_its_current_role,
    introspection_needs_permission_and_hides_inactive_tokens,
    read_endpoints_serve_tokens_but_management_needs_a_session,
    leak_reports_revoke_quietly,
    usage_is_written_behind_and_audited_per_minute,
    allowlists_rate_limits_and_sliding_expiry,
    revocation_reaches_a_second_process_within_a_second,
);

async fn api(
    client: &Client,
    method: reqwest::Method,
    path: &str,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut rb = client
        .http
        .request(method, format!("{}{path}", client.base));
    if let Some(t) = &client.bearer {
        rb = rb.bearer_auth(t);
    }
    let res = rb.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    )
}

async fn whoami(app: &TestApp, token: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    api(
        &app.client().with_bearer(token),
        reqwest::Method::GET,
        "/api/v1/whoami",
    )
    .await
}

/// A token with the right shape and checksum but a secret that was never issued.
fn forge(real: &str) -> String {
    let body = format!("{}{}", &real[..17], "A".repeat(33));
    let check = app::domain::token_format::checksum(&body);
    body + &check
}

async fn bearer_failures_answer_with_codes_and_www_authenticate(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, secret) = create_token(&admin, account, "deploy").await;

    let (status, body, headers) = api(&app.client(), reqwest::Method::GET, "/api/v1/whoami").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    // Malformed, bad checksum, unknown id, wrong secret: one answer.
    let mut bad_checksum = secret.clone();
    bad_checksum.replace_range(55..56, if secret.ends_with('A') { "B" } else { "A" });
    let unknown = {
        let body = format!("kwsa_{}{}", "Z".repeat(12), "Q".repeat(33));
        let c = app::domain::token_format::checksum(&body);
        body + &c
    };
    let mut answers = Vec::new();
    for t in [
        "abc",
        "kwsa_",
        &bad_checksum,
        &unknown,
        &forge(&secret),
        "😀😀😀",
    ] {
        let (status, body, headers) = whoami(&app, t).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{t}: {body}");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        answers.push(body);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "all look the same: {answers:?}"
    );
    assert_eq!(answers[0]["code"], "invalid_token");
    let res = app
        .client()
        .http
        .get(app.url("/api/v1/whoami"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let id = token.to_string();
    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET expires_at = 1000 WHERE id = {id}"),
    )
    .await;
    assert_eq!(whoami(&app, &secret).await.1["code"], "expired");
    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET expires_at = NULL WHERE id = {id}"),
    )
    .await;
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &account.to_string()), ("enabled", "false")],
        )
        .await;
    assert_eq!(whoami(&app, &secret).await.1["code"], "owner_disabled");
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &account.to_string()), ("enabled", "true")],
        )
        .await;
    admin
        .post(
            "tokens/update",
            &[
                ("id", &id),
                ("name", "deploy"),
                ("allowed_cidrs", "10.0.0.0/8"),
            ],
        )
        .await;
    let (status, body, _) = whoami(&app, &secret).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("ip_not_allowed"))
    );
    admin
        .post(
            "tokens/update",
            &[
                ("id", &id),
                ("name", "deploy"),
                ("allowed_cidrs", "127.0.0.0/8, ::1"),
                ("rate_limit_per_minute", "3"),
            ],
        )
        .await;
    for _ in 0..3 {
        assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK);
    }
    let (status, body, headers) = whoami(&app, &secret).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    admin.post("tokens/revoke", &[("id", &id)]).await;
    let (status, body, headers) = whoami(&app, &secret).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("revoked"))
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"revoked\""));
    app.stop().await;
}

async fn whoami_reports_the_token_and_its_current_role(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, secret) = create_token(&admin, account, "deploy").await;
    let (status, body, _) = whoami(&app, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["id"], token);
    assert_eq!(body["token"]["name"], "deploy");
    assert_eq!(body["token"]["kind"], "service_account");
    assert!(secret.starts_with(body["token"]["prefix"].as_str().unwrap()));
    assert!(body["token"]["expires_at"].as_i64().unwrap() > app::backend::service::now());
    assert_eq!(
        body["owner"],
        json!({ "kind": "service_account", "id": account, "name": "ci_bot" })
    );
    assert_eq!(body["role"], "viewer");

    // A role change applies to every token of the account at once.
    admin
        .post(
            "service-accounts/update",
            &[
                ("id", &account.to_string()),
                ("role", "power_user"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(whoami(&app, &secret).await.1["role"], "power_user");

    let dev = app.user("dev@example.com", Role::Deployment).await;
    let (_, personal) = dev
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "never")],
        )
        .await;
    let (_, me, _) = whoami(&app, personal["secret"].as_str().unwrap()).await;
    assert_eq!(me["owner"]["kind"], "user");
    assert_eq!(me["owner"]["name"], "dev@example.com");
    assert_eq!(me["role"], "deployment");
    assert_eq!(me["token"]["expires_at"], Value::Null);
    app.stop().await;
}

async fn introspect(app: &TestApp, caller: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = app
        .client()
        .http
        .post(app.url("/api/v1/introspect"))
        .bearer_auth(caller)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn introspection_needs_permission_and_hides_inactive_tokens(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let gateway = create_account(&admin, "gateway", "viewer").await;
    let (_, gateway_token) = create_token(&admin, gateway, "introspect").await;
    let worker = create_account(&admin, "worker", "deployment").await;
    let (worker_id, worker_token) = create_token(&admin, worker, "jobs").await;

    let (status, body) = introspect(&app, &gateway_token, &[("token", &worker_token)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let gid = gateway.to_string();
    let (status, _) = admin
        .post(
            "service-accounts/update",
            &[
                ("id", &gid),
                ("role", "viewer"),
                ("description", ""),
                ("introspect_shown", "1"),
                ("can_introspect", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = introspect(&app, &gateway_token, &[("token", &worker_token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], format!("service_account:{worker}"));
    assert_eq!(body["username"], "worker");
    assert_eq!(body["role"], "deployment");
    assert_eq!(body["token_id"], worker_id);
    assert_eq!(body["kind"], "service_account");
    // JSON works as well as the form of RFC 7662.
    let res = app
        .client()
        .http
        .post(app.url("/api/v1/introspect"))
        .bearer_auth(&gateway_token)
        .json(&json!({ "token": worker_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);

    for t in ["garbage", forge(&worker_token).as_str()] {
        let (status, body) = introspect(&app, &gateway_token, &[("token", t)]).await;
        assert_eq!((status, body), (StatusCode::OK, json!({ "active": false })));
    }
    // Allowlisted tokens are active only where they may be used.
    admin
        .post(
            "tokens/update",
            &[
                ("id", &worker_id.to_string()),
                ("name", "jobs"),
                ("allowed_cidrs", "10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(
        introspect(&app, &gateway_token, &[("token", &worker_token)])
            .await
            .1,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(
            &app,
            &gateway_token,
            &[("token", &worker_token), ("client_ip", "10.1.2.3")]
        )
        .await
        .1["active"],
        true
    );
    assert_eq!(
        introspect(
            &app,
            &gateway_token,
            &[("token", &worker_token), ("client_ip", "8.8.8.8")]
        )
        .await
        .1["active"],
        false
    );
    let (status, body) = introspect(
        &app,
        &gateway_token,
        &[("token", &worker_token), ("client_ip", "nonsense")],
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("client_ip"))
    );
    admin
        .post("tokens/revoke", &[("id", &worker_id.to_string())])
        .await;
    assert_eq!(
        introspect(
            &app,
            &gateway_token,
            &[("token", &worker_token), ("client_ip", "10.1.2.3")]
        )
        .await
        .1,
        json!({ "active": false })
    );
    let (status, _) = introspect(&app, &gateway_token, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

async fn read_endpoints_serve_tokens_but_management_needs_a_session(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "admin").await;
    let (_, secret) = create_token(&admin, account, "deploy").await;
    create_token(&admin, account, "backup").await;
    let bot = app.client().with_bearer(&secret);
    use reqwest::Method as M;

    let (status, body, _) = api(&bot, M::GET, "/api/v1/service-accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["name"], "ci_bot");
    let (status, body, _) = api(&bot, M::GET, &format!("/api/v1/service-accounts/{account}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tokens"].as_array().unwrap().len(), 2);
    assert!(!body.to_string().contains(&secret[17..]), "metadata only");
    let (status, body, _) = api(&bot, M::GET, "/api/v1/tokens/mine").await;
    assert_eq!(
        (status, body.as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    let (status, _, _) = api(&bot, M::GET, "/api/v1/service-accounts/99999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Even an Admin-role token cannot manage anything.
    for (method, path) in [
        (M::POST, "/api/v1/service-accounts".to_string()),
        (M::PATCH, format!("/api/v1/service-accounts/{account}")),
        (M::DELETE, format!("/api/v1/service-accounts/{account}")),
        (
            M::POST,
            format!("/api/v1/service-accounts/{account}/tokens"),
        ),
        (M::POST, "/api/v1/tokens".to_string()),
        (M::DELETE, "/api/v1/tokens/1".to_string()),
        (M::POST, "/api/v1/tokens/1/revoke".to_string()),
        (M::POST, "/api/v1/tokens/1/rotate".to_string()),
        (M::POST, "/api/v1/users".to_string()),
        (M::DELETE, "/api/v1/users/1".to_string()),
    ] {
        let (status, body, _) = api(&bot, method.clone(), &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["code"], "session_required");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("signed-in session"));
    }
    let (status, _, _) = api(&app.client(), M::POST, "/api/v1/tokens").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body, _) = api(&bot, M::GET, "/api/v1/nope").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The OpenAPI document describes the same routes; the docs page is generated from it.
    let (status, doc, _) = api(&app.client(), M::GET, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/whoami",
        "/api/v1/introspect",
        "/api/v1/service-accounts",
        "/api/v1/tokens/report-leak",
        "/api/v1/tokens/mine",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let (status, html) = app.client().page("/api/v1/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("GET /api/v1/whoami"));
    app.stop().await;
}

async fn leak_reports_revoke_quietly(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (leaked_id, leaked) = create_token(&admin, account, "leaked").await;
    let (_, safe) = create_token(&admin, account, "safe").await;
    let url = app.url("/api/v1/tokens/report-leak");
    let http = reqwest::Client::new();

    let res = http
        .post(&url)
        .json(&json!({ "tokens": [leaked, "kwsa_not_a_token", forge(&safe)] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let with_valid: Value = res.json().await.unwrap();
    let res = http
        .post(&url)
        .json(&json!({ "tokens": ["nothing", "here", "either"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let without: Value = res.json().await.unwrap();
    assert_eq!(
        with_valid, without,
        "the answer does not reveal which were valid"
    );

    assert_eq!(whoami(&app, &leaked).await.1["code"], "revoked");
    assert_eq!(whoami(&app, &safe).await.0, StatusCode::OK);
    let (status, body) = admin
        .post("tokens/restore", &[("id", &leaked_id.to_string())])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("leaked"));
    let (_, audit) = admin
        .get("audit/list", &[("action", "token.leak_reported")])
        .await;
    assert_eq!(audit["total"], 1);
    assert_eq!(audit["items"][0]["ip"], "127.0.0.1");

    // Plain text works; oversized reports are refused; the endpoint is rate limited.
    let res = http
        .post(&url)
        .body(format!("{safe}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(whoami(&app, &safe).await.1["code"], "revoked");
    let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    let res = http
        .post(&url)
        .json(&json!({ "tokens": many }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let mut limited = false;
    for _ in 0..12 {
        let res = http
            .post(&url)
            .json(&json!({ "tokens": ["x"] }))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
            limited = true;
            break;
        }
    }
    assert!(limited, "ten reports a minute per address");
    app.stop().await;
}

async fn usage_is_written_behind_and_audited_per_minute(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (_, secret) = create_token(&admin, account, "deploy").await;
    // A second account's token, so the flush writes a batch (PostgreSQL: one statement for
    // all rows), and a revoked one, whose last use must stay as it was.
    let other = create_account(&admin, "nightly", "viewer").await;
    let (_, other_secret) = create_token(&admin, other, "backup").await;
    let (revoked_id, revoked_secret) = create_token(&admin, other, "old").await;
    let use_token = |secret: String, ua: &'static str| {
        let http = app.client().http;
        let url = app.url("/api/v1/whoami");
        async move {
            let res = http
                .get(url)
                .bearer_auth(&secret)
                .header("User-Agent", ua)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
    };
    for _ in 0..3 {
        use_token(secret.clone(), "deploy-script/1.0").await;
    }
    use_token(other_secret.clone(), "backup-job/2.0").await;
    use_token(revoked_secret.clone(), "old-job/0.1").await;
    let (status, _) = admin
        .post("tokens/revoke", &[("id", &revoked_id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    let aid = account.to_string();
    let (_, before) = admin
        .get("service-accounts/tokens/list", &[("account_id", &aid)])
        .await;
    assert_eq!(
        before[0]["last_used_at"],
        Value::Null,
        "nothing written per request"
    );
    assert_eq!(app.state.auth.usage.pending(), 3);

    app.state.flush_usage().await;
    let (_, others) = admin
        .get(
            "service-accounts/tokens/list",
            &[("account_id", &other.to_string())],
        )
        .await;
    let others = others.as_array().unwrap();
    let by_name = |name: &str| others.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(by_name("backup")["last_used_user_agent"], "backup-job/2.0");
    assert_eq!(
        by_name("old")["last_used_at"],
        Value::Null,
        "revoked: not written"
    );
    let (_, after) = admin
        .get("service-accounts/tokens/list", &[("account_id", &aid)])
        .await;
    assert!(after[0]["last_used_at"].as_i64().unwrap() >= app::backend::service::now() - 60);
    assert_eq!(after[0]["last_used_ip"], "127.0.0.1");
    assert_eq!(after[0]["last_used_user_agent"], "deploy-script/1.0");
    let (_, account_view) = admin.get("service-accounts/get", &[("id", &aid)]).await;
    assert!(
        account_view["last_used_at"].is_i64(),
        "last activity of the account"
    );
    let (_, audit) = admin
        .get("audit/list", &[("action", "token.api_use")])
        .await;
    assert_eq!(audit["total"], 3, "one event per token per minute");
    let items = audit["items"].as_array().unwrap();
    let ci = items
        .iter()
        .find(|i| {
            i["actor"]
                .as_str()
                .unwrap()
                .starts_with("ci_bot via token kwsa_")
        })
        .expect("ci_bot's event");
    let details: Value = serde_json::from_str(ci["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["requests"], 3);
    app.stop().await;
}

async fn allowlists_rate_limits_and_sliding_expiry(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let aid = create_account(&admin, "ci_bot", "viewer").await.to_string();
    let create = |extra: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let aid = aid.clone();
        async move {
            let mut form = vec![("account_id", aid.as_str())];
            if !extra.iter().any(|(k, _)| *k == "expires_in") {
                form.push(("expires_in", "7"));
            }
            form.extend(extra);
            admin.post("service-accounts/tokens/create", &form).await
        }
    };
    let (status, body) = create(vec![
        ("name", "bad_range"),
        ("allowed_cidrs", "10.0.0.0/33"),
    ])
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("allowed_cidrs"))
    );
    let (status, body) = create(vec![("name", "bad_rate"), ("rate_limit_per_minute", "-1")]).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("rate_limit_per_minute")
        )
    );
    let (status, body) = create(vec![
        ("name", "slides_never"),
        ("sliding", "true"),
        ("expires_in", "never"),
    ])
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("sliding"))
    );

    let (status, body) = create(vec![
        ("name", "v6_only"),
        ("allowed_cidrs", "2001:db8::/32"),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["allowed_cidrs"], "2001:db8::/32");
    assert_eq!(
        whoami(&app, body["secret"].as_str().unwrap()).await.1["code"],
        "ip_not_allowed"
    );
    let (_, body) = create(vec![("name", "loopback"), ("allowed_cidrs", "127.0.0.1")]).await;
    assert_eq!(
        whoami(&app, body["secret"].as_str().unwrap()).await.0,
        StatusCode::OK
    );

    // The organisation default applies to tokens without their own limit.
    admin
        .post(
            "settings/update",
            &[
                ("max_token_lifetime_days", ""),
                ("default_rate_limit_per_minute", "2"),
            ],
        )
        .await;
    let (_, body) = create(vec![("name", "defaulted")]).await;
    let secret = body["secret"].as_str().unwrap().to_string();
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK);
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK);
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::TOO_MANY_REQUESTS);
    admin
        .post(
            "settings/update",
            &[
                ("max_token_lifetime_days", ""),
                ("default_rate_limit_per_minute", "600"),
            ],
        )
        .await;

    // Sliding: each use moves the expiry to N days after it.
    let (status, body) = create(vec![("name", "sliding"), ("sliding", "true")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["sliding_days"], 7);
    let id = body["token"]["id"].as_i64().unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let now = app::backend::service::now();
    exec_sql(
        &app.state,
        &format!(
            "UPDATE tokens SET expires_at = {} WHERE id = {id}",
            now + 60
        ),
    )
    .await;
    assert_eq!(whoami(&app, &secret).await.0, StatusCode::OK);
    app.state.flush_usage().await;
    let (_, list) = admin
        .get("service-accounts/tokens/list", &[("account_id", &aid)])
        .await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    let expires = row["expires_at"].as_i64().unwrap();
    assert!(
        expires >= now + 7 * 86_400 - 5,
        "slid to a week after the use: {expires}"
    );
    app.stop().await;
}

async fn revocation_reaches_a_second_process_within_a_second(b: Backend) {
    let db = TestDb::new(b).await;
    // Two real server processes on one database, like two replicas behind a load balancer.
    let first = Proc::serve(&db, &[]).await;
    let second = Proc::serve(&db, &[]).await;
    {
        // The first user, created the way `keyward user create` would.
        let app = TestApp::start(&db).await;
        app.create_user("admin@example.com", Role::Admin).await;
        app.stop().await;
    }
    let admin = Client::new(first.base());
    assert_eq!(
        admin
            .login("admin@example.com", crate::harness::PASSWORD)
            .await
            .0,
        StatusCode::OK
    );
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, secret) = create_token(&admin, account, "deploy").await;
    let on_second = Client::new(second.base()).with_bearer(&secret);
    let whoami_second = || async { api(&on_second, reqwest::Method::GET, "/api/v1/whoami").await };
    let (status, body, _) = whoami_second().await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("viewer")),
        "cached on the second process now"
    );

    // A role change on the first process reaches the second.
    admin
        .post(
            "service-accounts/update",
            &[
                ("id", &account.to_string()),
                ("role", "deployment"),
                ("description", ""),
            ],
        )
        .await;
    assert!(
        eventually(std::time::Duration::from_secs(1), || async {
            whoami_second().await.1["role"] == "deployment"
        })
        .await,
        "role change seen by the second process within a second"
    );
    admin
        .post("tokens/revoke", &[("id", &token.to_string())])
        .await;
    // The process that made the change knows at once.
    let on_first = Client::new(first.base()).with_bearer(&secret);
    assert_eq!(
        api(&on_first, reqwest::Method::GET, "/api/v1/whoami")
            .await
            .1["code"],
        "revoked"
    );
    assert!(
        eventually(std::time::Duration::from_secs(1), || async {
            whoami_second().await.1["code"] == "revoked"
        })
        .await,
        "revocation seen by the second process within a second"
    );
}
