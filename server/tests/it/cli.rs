//! The command line for scripted installs: same rules, same errors, secrets only on stdout.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{count_sql, keyward, read, Backend, TestApp, TestDb, PASSWORD};

backends!(
    command_line_manages_accounts_and_tokens,
    dev_seed_writes_working_secrets,
    rotate_disable_enable_and_password_links,
    list_commands_print_json
);

async fn command_line_manages_accounts_and_tokens(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");

    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--admin", "--email", "ops@example.com"],
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--email", "weak@example.com"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 12 characters"), "{err}");

    let (ok, out, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "deployment",
            "--description",
            "CI",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.trim().parse::<i64>().is_ok(),
        "prints the new id: {out}"
    );
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
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "CI Bot",
            "--role",
            "viewer",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("lowercase"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "x_bot",
            "--role",
            "god",
        ],
        None,
    );
    assert!(!ok && err.contains("roles"), "{err}");
    let (ok, out, _) = keyward(&db, &["service-account", "list"], None);
    assert!(
        ok && out.contains("ci_bot") && out.contains("deployment"),
        "{out}"
    );

    let (ok, out, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
            "--expires-in",
            "30d",
        ],
        None,
    );
    assert!(ok, "{err}");
    let secret = out.trim_end_matches('\n');
    assert!(
        !secret.contains('\n') && secret.starts_with("kwsa_") && secret.len() == 56,
        "only the secret on stdout: {out:?}"
    );
    assert!(
        !err.contains(secret),
        "the secret is not repeated on stderr"
    );
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
        ],
        None,
    );
    assert!(!ok && err.contains("already has a token named"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "nobody",
            "--name",
            "deploy",
        ],
        None,
    );
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "later",
            "--expires-in",
            "soon",
        ],
        None,
    );
    assert!(!ok && err.contains("not an expiry"), "{err}");

    // The token works against the server on the same database (and key).
    let app = TestApp::start(&db).await;
    let bearer = app.client().with_bearer(secret);
    assert_eq!(
        bearer.get("service-accounts/list", &[]).await.0,
        StatusCode::OK
    );

    let (ok, out, _) = keyward(&db, &["token", "list"], None);
    assert!(
        ok && out.contains("deploy") && out.contains(&secret[..13]) && !out.contains(&secret[13..]),
        "{out}"
    );
    let id = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (ok, _, err) = keyward(&db, &["token", "revoke", &id], None);
    assert!(ok, "{err}");
    // Another process (the command line) changed it: the server sees it within a second.
    let seen = crate::harness::eventually(std::time::Duration::from_secs(1), || async {
        let (status, body) = bearer.get("service-accounts/list", &[]).await;
        status == StatusCode::UNAUTHORIZED && body["code"] == "revoked"
    })
    .await;
    assert!(
        seen,
        "the server still accepts a token revoked on the command line"
    );
    let (ok, _, err) = keyward(&db, &["token", "revoke", "999999"], None);
    assert!(!ok && err.contains("not found"), "{err}");

    // The cap of 20 holds on the command line too.
    for i in 0..20 {
        let name = format!("bulk_{i:02}");
        let (ok, _, err) = keyward(
            &db,
            &[
                "token",
                "create",
                "--service-account",
                "ci_bot",
                "--name",
                &name,
            ],
            None,
        );
        assert!(ok, "{i}: {err}");
    }
    let (ok, _, err) = keyward(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "bulk_20",
        ],
        None,
    );
    assert!(!ok && err.contains("20 live tokens"), "{err}");

    // The operator's actions are in the audit log.
    let (_, audit) = app
        .user("admin2@example.com", app::domain::Role::Admin)
        .await
        .get("audit/list", &[("actor", "local operator")])
        .await;
    assert!(audit["total"].as_i64().unwrap() >= 23, "{audit}");
    app.stop().await;
}

/// The token table's indexes, triggers and foreign keys, as the catalog lists them.
async fn token_table_schema(app: &TestApp) -> i64 {
    let sql = match app.state.db.backend_name() {
        "sqlite" => {
            "SELECT COUNT(*) AS n FROM sqlite_schema WHERE tbl_name = 'tokens' \
             AND type IN ('index', 'trigger')"
        }
        _ => {
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'tokens') \
             + (SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'tokens'::regclass) AS n"
        }
    };
    count_sql(&app.state, sql).await
}

/// `dev seed --secrets-out`: one real secret per token, in a file only its owner can read,
/// never printed, and accepted by the server on the same database. Seeding appends, and the
/// indexes it rebuilds come back as the migrations made them.
async fn dev_seed_writes_working_secrets(b: Backend) {
    use std::os::unix::fs::PermissionsExt;

    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let app = TestApp::start(&db).await;
    let schema = token_table_schema(&app).await;
    assert!(schema > 3, "{schema}");

    let out = db.data_dir.join("seeded-secrets.txt");
    let (ok, stdout, stderr) = keyward(
        &db,
        &[
            "dev",
            "seed",
            "--tokens",
            "60",
            "--accounts",
            "6",
            "--secrets-out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(&out).unwrap();
    let secrets: Vec<&str> = text.lines().collect();
    assert_eq!(secrets.len(), 60);
    for s in &secrets {
        assert!(s.len() == 56 && (s.starts_with("kwsa_") || s.starts_with("kwpt_")));
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "a secret was printed"
        );
    }
    // Without the flag: appended, same seed, no secrets anywhere.
    let (ok, stdout, stderr) = keyward(
        &db,
        &["dev", "seed", "--tokens", "40", "--accounts", "4"],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("tokens"), "progress on stderr: {stderr}");

    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM tokens").await,
        100
    );
    assert_eq!(
        token_table_schema(&app).await,
        schema,
        "every index is back"
    );
    if b == Backend::Postgres {
        // Vacuumed: without the visibility map every index-only scan of the table reads the
        // table too (the token table's plans depend on those scans).
        let visible = count_sql(
            &app.state,
            "SELECT relallvisible::bigint AS n FROM pg_class WHERE oid = 'tokens'::regclass",
        )
        .await;
        assert!(visible > 0, "the seed left no page marked all-visible");
    }
    if b == Backend::Sqlite {
        // The full-text index was rebuilt: it finds every person's token.
        assert_eq!(
            count_sql(
                &app.state,
                "SELECT COUNT(*) AS n FROM token_search WHERE token_search MATCH '\"example.com\"'"
            )
            .await,
            count_sql(
                &app.state,
                "SELECT COUNT(*) AS n FROM tokens WHERE kind = 'personal'"
            )
            .await
        );
    }

    // Every secret matches its stored hash: the server answers with the token's state (some
    // are revoked, expired, of a disabled owner or limited to other addresses), never
    // "invalid", and the live ones get in.
    let http = app.client().http;
    let mut accepted = 0;
    for s in &secrets {
        let res = http
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(s)
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        match status {
            StatusCode::OK => {
                assert_eq!(body["token"]["prefix"].as_str().unwrap(), &s[..13]);
                accepted += 1;
            }
            _ => assert!(
                ["revoked", "expired", "owner_disabled", "ip_not_allowed"]
                    .contains(&body["code"].as_str().unwrap_or_default()),
                "{status} {body}"
            ),
        }
    }
    assert!(accepted > 0, "no seeded token was accepted");
    assert!(
        accepted < secrets.len(),
        "the default seed has every status"
    );

    // --all-live (the verification benchmark's data): every token gets in.
    let live = db.data_dir.join("live-secrets.txt");
    let (ok, _, stderr) = keyward(
        &db,
        &[
            "dev",
            "seed",
            "--tokens",
            "40",
            "--accounts",
            "4",
            "--all-live",
            "--secrets-out",
            live.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let text = std::fs::read_to_string(&live).unwrap();
    assert_eq!(text.lines().count(), 40);
    for s in text.lines() {
        let res = http
            .get(app.url("/api/v1/whoami"))
            .bearer_auth(s)
            .send()
            .await
            .unwrap();
        let (status, body) = read(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.stop().await;
}

/// Runs a command expected to succeed; returns its standard output.
fn ok(db: &TestDb, args: &[&str]) -> String {
    let (ok, out, err) = keyward(db, args, None);
    assert!(ok, "keyward {args:?} failed: {err}");
    out
}

/// Runs a command expected to fail; returns its standard error.
fn fails(db: &TestDb, args: &[&str]) -> String {
    let (ok, out, err) = keyward(db, args, None);
    assert!(!ok, "keyward {args:?} succeeded: {out}");
    assert!(out.is_empty(), "a failure prints no result: {out}");
    err
}

async fn audit_rows(app: &TestApp) -> i64 {
    count_sql(&app.state, "SELECT COUNT(*) AS n FROM audit_events").await
}

/// `token rotate`, `service-account disable/enable` and `user set-password-link`: each goes
/// through the service layer (same rules, audited as the local operator), prints only the
/// secret it makes, and on an unknown id, name or address fails without changing anything.
async fn rotate_disable_enable_and_password_links(b: Backend) {
    let db = TestDb::new(b).await;
    ok(&db, &["migrate"]);
    let (done, _, err) = keyward(
        &db,
        &["user", "create", "--admin", "--email", "ops@example.com"],
        Some("a long enough password\n"),
    );
    assert!(done, "{err}");
    ok(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "power_user",
        ],
    );
    let old = ok(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
        ],
    )
    .trim()
    .to_string();
    let app = TestApp::start(&db).await;
    let whoami = |secret: String| {
        let http = app.client().http;
        let url = app.url("/api/v1/whoami");
        async move {
            let res = http.get(url).bearer_auth(secret).send().await.unwrap();
            let (status, body) = read(res).await;
            (
                status,
                body["code"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let list: Value = serde_json::from_str(&ok(&db, &["token", "list", "--json"])).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();

    // Rotate: only the new secret on stdout; same token (id, prefix), the old secret dead.
    let (done, out, err) = keyward(&db, &["token", "rotate", &id], None);
    assert!(done, "{err}");
    let new = out.trim_end_matches('\n');
    assert!(
        !new.contains('\n') && new.starts_with("kwsa_") && new.len() == 56 && new != old,
        "only the new secret on stdout: {out:?}"
    );
    assert_eq!(&new[..17], &old[..17], "same public id");
    assert!(!err.contains(new), "the secret is not repeated on stderr");
    let seen = crate::harness::eventually(std::time::Duration::from_secs(2), || async {
        whoami(old.clone()).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(seen, "the old secret still works without a grace period");
    assert_eq!(whoami(new.to_string()).await.0, StatusCode::OK);
    // With a grace period the previous secret keeps working.
    let newer = ok(&db, &["token", "rotate", &id, "--grace", "1h"])
        .trim()
        .to_string();
    assert_eq!(whoami(newer.clone()).await.0, StatusCode::OK);
    assert_eq!(whoami(new.to_string()).await.0, StatusCode::OK);

    // Bad input: clear errors, non-zero exit, nothing written.
    let before = audit_rows(&app).await;
    let err = fails(&db, &["token", "rotate", "999999"]);
    assert!(err.contains("not found"), "{err}");
    let err = fails(&db, &["token", "rotate", "abc"]);
    assert!(err.contains("invalid value"), "{err}");
    let err = fails(&db, &["token", "rotate", &id, "--grace", "2d"]);
    assert!(err.contains("none, 1h, 24h"), "{err}");
    let err = fails(&db, &["service-account", "disable", "nobody"]);
    assert!(
        err.contains("“nobody”") && err.contains("not found"),
        "{err}"
    );
    let err = fails(&db, &["service-account", "enable", "nobody"]);
    assert!(err.contains("not found"), "{err}");
    let err = fails(
        &db,
        &["user", "set-password-link", "--email", "nobody@example.com"],
    );
    assert!(err.contains("not found"), "{err}");
    let err = fails(
        &db,
        &["user", "set-password-link", "--email", "not-an-address"],
    );
    assert!(err.contains("e-mail"), "{err}");
    assert_eq!(
        audit_rows(&app).await,
        before,
        "a refused command changed something"
    );
    assert_eq!(whoami(newer.clone()).await.0, StatusCode::OK);

    // Disable stops the account's tokens (the server learns within a second); enable
    // brings them back. Doing it twice is harmless.
    ok(&db, &["service-account", "disable", "ci_bot"]);
    let (_, _, err) = keyward(&db, &["service-account", "disable", "ci_bot"], None);
    assert!(err.contains("already disabled"), "{err}");
    let seen = crate::harness::eventually(std::time::Duration::from_secs(2), || async {
        whoami(newer.clone()).await == (StatusCode::UNAUTHORIZED, "owner_disabled".into())
    })
    .await;
    assert!(seen, "a disabled account's token still works");
    let accounts: Value =
        serde_json::from_str(&ok(&db, &["service-account", "list", "--json"])).unwrap();
    assert_eq!(accounts[0]["status"], "disabled");
    ok(&db, &["service-account", "enable", "ci_bot"]);
    let seen = crate::harness::eventually(std::time::Duration::from_secs(2), || async {
        whoami(newer.clone()).await.0 == StatusCode::OK
    })
    .await;
    assert!(seen, "an enabled account's token does not work again");

    // A set-password link: only the link on stdout; it works once, and earlier ones die.
    let first = ok(
        &db,
        &["user", "set-password-link", "--email", "OPS@example.com"],
    );
    let (done, out, err) = keyward(
        &db,
        &["user", "set-password-link", "--email", "ops@example.com"],
        None,
    );
    assert!(done, "{err}");
    let link = out.trim_end_matches('\n');
    assert!(
        !link.contains('\n') && link.contains("/set-password?code="),
        "only the link on stdout: {out:?}"
    );
    let code = link.split("code=").nth(1).unwrap();
    assert!(!err.contains(code), "the code is not repeated on stderr");
    let stale = first.trim().split("code=").nth(1).unwrap().to_string();
    let client = app.client();
    let set = |code: String| {
        let client = client.clone();
        async move {
            client
                .post(
                    "auth/set-password",
                    &[
                        ("code", code.as_str()),
                        ("password", PASSWORD),
                        ("password_confirm", PASSWORD),
                    ],
                )
                .await
                .0
        }
    };
    assert_ne!(
        set(stale).await,
        StatusCode::OK,
        "an earlier link still works"
    );
    assert_eq!(set(code.to_string()).await, StatusCode::OK);
    assert_eq!(
        app.client().login("ops@example.com", PASSWORD).await.0,
        StatusCode::OK
    );

    // Every change is in the audit log as the local operator's.
    let (_, audit) = app
        .user("admin2@example.com", app::domain::Role::Admin)
        .await
        .get("audit/list", &[("actor", "local operator")])
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "token.rotate",
        "service_account.disable",
        "service_account.enable",
        "user.link_reset",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    app.stop().await;
}

/// `--json` on the list commands: an array of objects with stable field names, no secrets.
async fn list_commands_print_json(b: Backend) {
    let db = TestDb::new(b).await;
    ok(&db, &["migrate"]);
    assert_eq!(
        serde_json::from_str::<Value>(&ok(&db, &["token", "list", "--json"])).unwrap(),
        serde_json::json!([]),
        "an empty list is an empty array"
    );
    ok(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "viewer",
            "--description",
            "CI",
        ],
    );
    ok(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "other",
            "--role",
            "admin",
        ],
    );
    let secret = ok(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
            "--expires-in",
            "never",
        ],
    )
    .trim()
    .to_string();

    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let out = ok(&db, &["service-account", "list", "--json"]);
    let accounts: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 2, "{out}");
    let bot = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "ci_bot")
        .unwrap();
    assert_eq!(
        keys(bot),
        [
            "created_at",
            "description",
            "id",
            "last_used_at",
            "live_tokens",
            "name",
            "role",
            "status"
        ]
    );
    assert_eq!(bot["role"], "viewer");
    assert_eq!(bot["status"], "active");
    assert_eq!(bot["description"], "CI");
    assert_eq!(bot["live_tokens"], 1);
    assert!(bot["last_used_at"].is_null());
    assert!(bot["created_at"].as_str().unwrap().ends_with('Z'), "{bot}");

    for args in [
        &["token", "list", "--json"][..],
        &["token", "list", "--json", "--service-account", "ci_bot"][..],
    ] {
        let out = ok(&db, args);
        assert!(!out.contains(&secret[13..]), "a secret in the list: {out}");
        let tokens: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(tokens.as_array().unwrap().len(), 1, "{out}");
        let t = &tokens[0];
        assert_eq!(
            keys(t),
            [
                "created_at",
                "expires_at",
                "id",
                "kind",
                "last_used_at",
                "name",
                "owner",
                "owner_kind",
                "prefix",
                "revoked_at",
                "role",
                "status"
            ]
        );
        assert_eq!(t["name"], "deploy");
        assert_eq!(t["prefix"], &secret[..13]);
        assert_eq!(t["kind"], "service_account");
        assert_eq!(t["owner"], "ci_bot");
        assert_eq!(t["owner_kind"], "service_account");
        assert_eq!(t["role"], "viewer");
        assert_eq!(t["status"], "active");
        assert!(t["expires_at"].is_null() && t["revoked_at"].is_null());
    }
    let err = fails(
        &db,
        &["token", "list", "--json", "--service-account", "nobody"],
    );
    assert!(err.contains("not found"), "{err}");
}

/// Every command's `--help`: each subcommand says what it does, each argument has a help
/// text, no empty default is shown, and the roles are listed where a role is asked for.
#[test]
fn help_explains_every_command_and_argument() {
    use clap::CommandFactory;

    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(sub, p, out);
        }
    }
    let mut commands = Vec::new();
    walk(&server::config::Cli::command(), Vec::new(), &mut commands);
    assert!(commands.len() > 15, "{}", commands.len());
    for (path, cmd) in &commands {
        if !path.is_empty() {
            assert!(
                cmd.get_about().is_some(),
                "`{}` has no description",
                path.join(" ")
            );
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(
                arg.get_help().is_some(),
                "`{}` argument {id} has no help text",
                path.join(" ")
            );
        }
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("[default: ]"), "{args:?}:\n{text}");
        // clap shows an unset variable as `[env: NAME=]`, which reads as an empty default.
        assert!(!text.contains("=]"), "{args:?}:\n{text}");
        if path.last().is_some_and(|p| p == "create") && text.contains("--role") {
            for role in ["viewer", "deployment", "power_user", "admin"] {
                assert!(
                    text.contains(role),
                    "{args:?} does not list {role}:\n{text}"
                );
            }
        }
    }
}
