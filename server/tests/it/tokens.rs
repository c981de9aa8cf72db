//! The token lifecycle through the real API: create, use, revoke, restore, rotate, delete;
//! accounts disabled and deleted; personal tokens of deactivated and removed people.

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{create_account, create_token, exec_sql, Backend, Client, TestApp, TestDb};

backends!(
    service_account_token_lifecycle,
    rotation_keeps_the_old_secret_only_for_the_grace_window,
    disabling_and_deleting_an_account_stops_its_tokens,
    personal_tokens_follow_their_owner,
    names_and_limits_are_enforced_with_clear_errors,
    expired_and_revoked_tokens_do_not_count_against_the_cap,
    the_last_admin_stays,
    power_users_stop_at_their_own_role,
);

/// What a bearer token gets from a read endpoint: (status, error code if any).
async fn use_token(app: &TestApp, secret: &str) -> (StatusCode, Value) {
    let (status, body) = app
        .client()
        .with_bearer(secret)
        .get("service-accounts/list", &[])
        .await;
    (status, body["code"].clone())
}

async fn service_account_token_lifecycle(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, secret) = create_token(&admin, account, "deploy_prod").await;
    assert!(
        secret.starts_with("kwsa_") && secret.len() == 56,
        "{secret}"
    );
    assert_eq!(use_token(&app, &secret).await.0, StatusCode::OK);

    // The listing shows metadata, never the secret.
    let (_, list) = admin
        .get(
            "service-accounts/tokens/list",
            &[("account_id", &account.to_string())],
        )
        .await;
    let row = &list[0];
    assert_eq!(row["name"], "deploy_prod");
    assert_eq!(row["status"], "active");
    assert!(secret.starts_with(row["display_prefix"].as_str().unwrap()));
    assert!(!list.to_string().contains(&secret[5..]));

    let id = token.to_string();
    let (status, body) = admin.post("tokens/revoke", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "revoked");
    assert_eq!(
        use_token(&app, &secret).await,
        (StatusCode::UNAUTHORIZED, Value::from("revoked"))
    );

    let (status, body) = admin.post("tokens/restore", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(use_token(&app, &secret).await.0, StatusCode::OK);

    // A live token cannot be deleted; a revoked one can, and is gone.
    let (status, body) = admin.post("tokens/delete", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Revoke"));
    admin.post("tokens/revoke", &[("id", &id)]).await;
    let (status, _) = admin.post("tokens/delete", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = admin
        .get(
            "service-accounts/tokens/list",
            &[("account_id", &account.to_string())],
        )
        .await;
    assert_eq!(list, Value::Array(vec![]));
    assert_eq!(
        use_token(&app, &secret).await,
        (StatusCode::UNAUTHORIZED, Value::from("invalid_token"))
    );

    // Every step is in the audit log.
    let (_, audit) = admin.get("audit/list", &[]).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "service_account.create",
        "token.create",
        "token.revoke",
        "token.restore",
        "token.delete",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    app.stop().await;
}

async fn rotation_keeps_the_old_secret_only_for_the_grace_window(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, first) = create_token(&admin, account, "deploy").await;
    let id = token.to_string();

    let (status, body) = admin
        .post("tokens/rotate", &[("id", &id), ("grace", "1h")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["secret"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(&first[..17], &second[..17], "same prefix and public id");
    assert_eq!(body["token"]["id"], token, "same token record");
    assert_eq!(
        use_token(&app, &first).await.0,
        StatusCode::OK,
        "old secret within grace"
    );
    assert_eq!(use_token(&app, &second).await.0, StatusCode::OK);

    // Once the grace window is over, the old secret is dead.
    exec_sql(
        &app.state,
        "UPDATE tokens SET previous_secret_expires_at = 1",
    )
    .await;
    assert_eq!(
        use_token(&app, &first).await.1,
        Value::from("invalid_token")
    );

    let (_, body) = admin
        .post("tokens/rotate", &[("id", &id), ("grace", "none")])
        .await;
    let third = body["secret"].as_str().unwrap().to_string();
    assert_eq!(
        use_token(&app, &second).await.1,
        Value::from("invalid_token"),
        "no grace: dead at once"
    );
    assert_eq!(use_token(&app, &third).await.0, StatusCode::OK);

    let (status, body) = admin
        .post("tokens/rotate", &[("id", &id), ("grace", "2 weeks")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "grace");
    admin.post("tokens/revoke", &[("id", &id)]).await;
    let (status, _) = admin.post("tokens/rotate", &[("id", &id)]).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "revoked tokens are not rotated"
    );
    app.stop().await;
}

async fn disabling_and_deleting_an_account_stops_its_tokens(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (token, secret) = create_token(&admin, account, "deploy").await;
    let aid = account.to_string();

    let (status, body) = admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &aid), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        use_token(&app, &secret).await,
        (StatusCode::UNAUTHORIZED, Value::from("owner_disabled"))
    );
    let (_, list) = admin
        .get("service-accounts/tokens/list", &[("account_id", &aid)])
        .await;
    assert_eq!(list[0]["status"], "owner_disabled");
    let (status, _) = admin
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", &aid),
                ("name", "another"),
                ("expires_in", "30"),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no new tokens for a disabled account"
    );
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &aid), ("enabled", "true")],
        )
        .await;
    assert_eq!(use_token(&app, &secret).await.0, StatusCode::OK);

    // Delete needs the exact name.
    let (status, body) = admin
        .post(
            "service-accounts/delete",
            &[("id", &aid), ("confirm_name", "ci-bot")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "confirm_name");
    assert_eq!(
        use_token(&app, &secret).await.0,
        StatusCode::OK,
        "a refused delete changes nothing"
    );
    let (status, _) = admin
        .post(
            "service-accounts/delete",
            &[("id", &aid), ("confirm_name", "ci_bot")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(use_token(&app, &secret).await.1, Value::from("revoked"));
    let (status, body) = admin
        .post("tokens/restore", &[("id", &token.to_string())])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("cannot be restored"));
    let (status, _) = admin.get("service-accounts/get", &[("id", &aid)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The name is free again; the audit log keeps the deletion.
    create_account(&admin, "ci_bot", "viewer").await;
    let (_, audit) = admin
        .get("audit/list", &[("action", "service_account.delete")])
        .await;
    assert_eq!(audit["total"], 1);
    assert_eq!(audit["items"][0]["target"], "ci_bot");
    app.stop().await;
}

async fn personal_tokens_follow_their_owner(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let dev = app.user("dev@example.com", Role::Deployment).await;
    let dev_id = dev.me().await["id"].as_i64().unwrap().to_string();
    let (status, body) = dev
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "7")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    let token_id = body["token"]["id"].as_i64().unwrap().to_string();
    assert!(secret.starts_with("kwpt_"));
    assert_eq!(
        body["token"]["status"], "active",
        "the warning starts under 7 days"
    );
    assert_eq!(use_token(&app, &secret).await.0, StatusCode::OK);
    let soon = app::backend::service::now() + 2 * 86_400;
    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET expires_at = {soon} WHERE id = {token_id}"),
    )
    .await;
    let (_, mine) = dev.get("me/tokens/list", &[]).await;
    assert_eq!(mine[0]["status"], "expiring_soon");

    // Someone else's personal token is invisible to non-admins.
    let viewer = app.user("viewer@example.com", Role::Viewer).await;
    let (status, _) = viewer.post("tokens/revoke", &[("id", &token_id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    admin
        .post("team/set-active", &[("id", &dev_id), ("active", "false")])
        .await;
    assert_eq!(
        use_token(&app, &secret).await.1,
        Value::from("owner_disabled")
    );
    admin
        .post("team/set-active", &[("id", &dev_id), ("active", "true")])
        .await;
    assert_eq!(
        use_token(&app, &secret).await.0,
        StatusCode::OK,
        "reactivation restores the token"
    );

    let (status, _) = admin.post("team/remove", &[("id", &dev_id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(use_token(&app, &secret).await.1, Value::from("revoked"));
    let (status, _) = admin.post("tokens/restore", &[("id", &token_id)]).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "tokens of removed people stay dead"
    );
    let (_, team) = admin.get("team/list", &[]).await;
    assert!(!team.to_string().contains("dev@example.com"));
    app.stop().await;
}

async fn names_and_limits_are_enforced_with_clear_errors(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    for (name, needle) in [
        ("CI", "at least 3"),
        ("ci-bot", "underscore"),
        ("Build_Bot", "lowercase"),
        (&"a".repeat(65)[..], "at most 64"),
    ] {
        let (status, body) = admin
            .post(
                "service-accounts/create",
                &[("name", name), ("role", "viewer")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert_eq!(body["code"], "invalid");
        assert_eq!(body["field"], "name");
        assert!(body["message"].as_str().unwrap().contains(needle), "{body}");
    }
    let (status, body) = admin
        .post(
            "service-accounts/create",
            &[("name", "ci_bot"), ("role", "root")],
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, Value::from("role"))
    );
    let (status, body) = admin
        .post(
            "service-accounts/create",
            &[
                ("name", "ci_bot"),
                ("role", "viewer"),
                ("description", &"x".repeat(501)),
            ],
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, Value::from("description"))
    );
    let (_, list) = admin.get("service-accounts/list", &[]).await;
    assert_eq!(list["total"], 0, "bad input changed nothing");

    let account = create_account(&admin, "ci_bot", "viewer").await;
    let (status, body) = admin
        .post(
            "service-accounts/create",
            &[("name", "ci_bot"), ("role", "viewer")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["field"], "name");
    let aid = account.to_string();
    create_token(&admin, account, "deploy").await;
    let (status, body) = admin
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", &aid),
                ("name", "deploy"),
                ("expires_in", "30"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["field"].clone()),
        (StatusCode::CONFLICT, Value::from("name"))
    );
    for (expires_in, expires_on, field) in [
        ("8", "", "expires_in"),
        ("custom", "yesterday", "expires_on"),
        ("custom", "2001-01-01", "expires_on"),
    ] {
        let (status, body) = admin
            .post(
                "service-accounts/tokens/create",
                &[
                    ("account_id", &aid),
                    ("name", "other"),
                    ("expires_in", expires_in),
                    ("expires_on", expires_on),
                ],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{expires_in} {expires_on}: {body}"
        );
        assert_eq!(body["field"], field);
    }
    // The organisation maximum applies to new tokens.
    let (status, _) = admin
        .post(
            "settings/update",
            &[
                ("max_token_lifetime_days", "90"),
                ("default_rate_limit_per_minute", "600"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = admin
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", &aid),
                ("name", "forever"),
                ("expires_in", "never"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().contains("90 days"),
        "{body}"
    );

    // Malformed requests are 4xx, never 500.
    for form in [
        vec![("account_id", "abc"), ("name", "x")],
        vec![("name", "only")],
        vec![],
    ] {
        let (status, body) = admin.post("service-accounts/tokens/create", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert_eq!(body["code"], "bad_request");
    }
    let (status, _) = admin.get("service-accounts/get", &[("id", "999999")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn expired_and_revoked_tokens_do_not_count_against_the_cap(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            create_token(&admin, account, &format!("token_{i:02}"))
                .await
                .0,
        );
    }
    let aid = account.to_string();
    let over = |name: &'static str| {
        let admin: Client = admin.clone();
        let aid = aid.clone();
        async move {
            admin
                .post(
                    "service-accounts/tokens/create",
                    &[("account_id", &aid), ("name", name), ("expires_in", "30")],
                )
                .await
        }
    };
    let (status, body) = over("one_too_many").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "limit_reached");
    assert!(body["message"].as_str().unwrap().contains("20 live tokens"));

    admin
        .post("tokens/revoke", &[("id", &ids[0].to_string())])
        .await;
    assert_eq!(over("after_revoke").await.0, StatusCode::OK);
    assert_eq!(over("still_full").await.0, StatusCode::CONFLICT);

    exec_sql(
        &app.state,
        &format!("UPDATE tokens SET expires_at = 1000 WHERE id = {}", ids[1]),
    )
    .await;
    assert_eq!(over("after_expiry").await.0, StatusCode::OK);
    let (_, account_view) = admin.get("service-accounts/get", &[("id", &aid)]).await;
    assert_eq!(account_view["live_tokens"], 20);

    // Restoring a revoked token would make 21: refused.
    let (status, body) = admin
        .post("tokens/restore", &[("id", &ids[0].to_string())])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    app.stop().await;
}

async fn the_last_admin_stays(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let me = admin.me().await["id"].as_i64().unwrap().to_string();
    let (status, body) = admin
        .post("team/change-role", &[("id", &me), ("role", "viewer")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("last active Admin"));
    let (status, _) = admin
        .post("team/set-active", &[("id", &me), ("active", "false")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = admin.post("team/remove", &[("id", &me)]).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let second = app.user("second@example.com", Role::Admin).await;
    let (status, body) = second
        .post("team/change-role", &[("id", &me), ("role", "viewer")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        admin.me().await["role"],
        "viewer",
        "the role change applies to the live session"
    );
    let second_id = second.me().await["id"].as_i64().unwrap().to_string();
    let (status, _) = second
        .post(
            "team/change-role",
            &[("id", &second_id), ("role", "power_user")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "now second is the last admin");
    app.stop().await;
}

async fn power_users_stop_at_their_own_role(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let power = app.user("power@example.com", Role::PowerUser).await;
    let (status, body) = power
        .post(
            "service-accounts/create",
            &[("name", "root_bot"), ("role", "admin")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let own = create_account(&power, "deploy_bot", "power_user").await;
    create_token(&power, own, "deploy").await;

    let admins_account = create_account(&admin, "admin_bot", "admin").await;
    let aid = admins_account.to_string();
    let (status, _) = power
        .post(
            "service-accounts/update",
            &[("id", &aid), ("role", "viewer"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = power
        .post(
            "service-accounts/tokens/create",
            &[
                ("account_id", &aid),
                ("name", "mine_now"),
                ("expires_in", "30"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = power
        .post(
            "service-accounts/update",
            &[
                ("id", &own.to_string()),
                ("role", "admin"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "cannot raise an account above their own role"
    );
    // But reading is fine.
    let (status, _) = power
        .get("service-accounts/tokens/list", &[("account_id", &aid)])
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
