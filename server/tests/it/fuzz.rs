//! Every server function and every API route, fed malformed JSON, wrong types, unicode,
//! missing fields and oversized bodies, by an anonymous caller, a signed-in Admin and a
//! token: always a 4xx (or success), never a 5xx, and the server keeps answering.

use app::domain::Role;
use reqwest::{Method, StatusCode};

use crate::harness::{create_account, create_token, Backend, TestApp, TestDb};

backends!(malformed_requests_never_cause_a_server_error);

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let big = vec![b'a'; 1024 * 1024];
    let mut wide = b"name=".to_vec();
    wide.extend(std::iter::repeat_n(b'x', 200 * 1024));
    vec![
        ("application/x-www-form-urlencoded", Vec::new()),
        (
            "application/x-www-form-urlencoded",
            b"id=abc&account_id=%F0%9F%99%82&enabled=maybe&page=-1".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"name=%ZZ&&&==&[]=1&a[b]=2".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            "name=😀&description=ünïcödé&role=管理者&email=é@é"
                .as_bytes()
                .to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"id=99999999999999999999999&grace=%00".to_vec(),
        ),
        ("application/x-www-form-urlencoded", wide),
        ("application/json", b"{".to_vec()),
        (
            "application/json",
            b"{\"tokens\": 5, \"token\": [], \"id\": {}}".to_vec(),
        ),
        ("application/json", b"[1,2,3]".to_vec()),
        ("text/plain", vec![0xff, 0xfe, 0x00]),
        ("application/octet-stream", big),
    ]
}

fn queries() -> Vec<&'static str> {
    vec![
        "",
        "?id=abc",
        "?page=-1&q=%00",
        "?account_id=%F0%9F%99%82",
        "?code=%C3%A9%C3%A9%C3%A9",
        "?actor=%25&action=%27;drop&target=_",
    ]
}

async fn malformed_requests_never_cause_a_server_error(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "admin").await;
    let (_, secret) = create_token(&admin, account, "deploy").await;
    let anonymous = app.client().without_keepalive();
    let admin = admin.without_keepalive();
    let bearer = app.client().with_bearer(&secret).without_keepalive();

    let mut targets: Vec<(Method, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method, path.to_string()))
        .filter(|(_, path)| path != "/api/fn/auth/logout")
        .collect();
    assert!(
        targets.len() >= 30,
        "every server function is listed: {}",
        targets.len()
    );
    for path in [
        "/api/v1/whoami",
        "/api/v1/introspect",
        "/api/v1/service-accounts",
        "/api/v1/service-accounts/abc",
        &format!("/api/v1/service-accounts/{account}"),
        &format!("/api/v1/service-accounts/{account}/tokens"),
        "/api/v1/tokens/mine",
        "/api/v1/tokens/report-leak",
        "/api/v1/tokens",
        "/api/v1/tokens/%F0%9F%99%82",
        "/api/v1/users",
        "/api/v1/openapi.json",
    ] {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            targets.push((method, path.to_string()));
        }
    }

    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, path) in &targets {
        for client in [&anonymous, &admin, &bearer] {
            let mut attempts: Vec<(String, bool, reqwest::RequestBuilder)> = Vec::new();
            if *method == Method::GET {
                for q in queries() {
                    attempts.push((
                        q.to_string(),
                        false,
                        client.http.get(format!("{}{path}{q}", client.base)),
                    ));
                }
            } else {
                for (content_type, body) in bodies() {
                    let label = format!("{content_type}, {} bytes", body.len());
                    let oversized = body.len() > server::http::MAX_BODY_BYTES;
                    attempts.push((
                        label,
                        oversized,
                        client
                            .http
                            .request(method.clone(), format!("{}{path}", client.base))
                            .header("content-type", content_type)
                            .body(body),
                    ));
                }
            }
            for (label, oversized, mut rb) in attempts {
                if let Some(t) = &client.bearer {
                    rb = rb.bearer_auth(t);
                }
                sent += 1;
                match rb.send().await {
                    Ok(res) if res.status().is_server_error() => {
                        let status = res.status();
                        let text = res.text().await.unwrap_or_default();
                        failures.push(format!(
                            "{method} {path} [{label}]: {status} {}",
                            &text[..text.len().min(200)]
                        ));
                    }
                    Ok(res) if oversized && res.status() != StatusCode::PAYLOAD_TOO_LARGE => {
                        failures.push(format!(
                            "{method} {path} [{label}]: {} instead of 413",
                            res.status()
                        ));
                    }
                    Ok(_) => {}
                    // An oversized body is answered with 413 and the connection closed while the
                    // client may still be sending: the client then sees a reset, not the 413.
                    Err(_) if oversized => {}
                    Err(e) => failures.push(format!("{method} {path} [{label}]: no answer ({e})")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let res = anonymous
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "still up");
    // And still serving real requests.
    assert_eq!(
        bearer.get("service-accounts/list", &[]).await.0,
        StatusCode::OK
    );
    app.stop().await;
}
