//! The command line for scripted installs: same rules, same errors, secrets only on stdout.

use reqwest::StatusCode;

use crate::harness::{keyward, Backend, TestApp, TestDb};

backends!(command_line_manages_accounts_and_tokens);

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
