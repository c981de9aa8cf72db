//! A full run of the real binary, then a search of its database and its logs for every secret
//! it handed out or was given: token secrets, passwords, one-time codes. None may be there.

use reqwest::StatusCode;

use crate::harness::{contains, database_contents, Backend, Client, Proc, TestDb};

backends!(no_secret_reaches_the_database_or_the_logs);

async fn no_secret_reaches_the_database_or_the_logs(b: Backend) {
    let db = TestDb::new(b).await;
    let mut proc = Proc::serve(&db, &[("KEYWARD_LOG", "debug")]).await;
    // The setup URL is the one thing printed on standard output.
    let mut setup_code = String::new();
    for _ in 0..100 {
        if let Some(code) = proc.stdout().split("code=").nth(1) {
            setup_code = code.split_whitespace().next().unwrap().to_string();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(setup_code.len(), 32, "setup URL printed: {}", proc.stdout());
    let mut secrets: Vec<String> = vec![setup_code.clone()];
    let admin = Client::new(proc.base());
    let admin_password = "first admin passphrase 1";
    secrets.push(admin_password.into());
    let (status, body) = admin
        .post(
            "auth/setup",
            &[
                ("code", &setup_code),
                ("email", "admin@example.com"),
                ("password", admin_password),
                ("password_confirm", admin_password),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wrong_password = "a wrong guess at the password";
    secrets.push(wrong_password.into());
    assert_eq!(
        Client::new(proc.base())
            .login("admin@example.com", wrong_password)
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (_, account) = admin
        .post(
            "service-accounts/create",
            &[("name", "ci_bot"), ("role", "viewer")],
        )
        .await;
    let aid = account["id"].to_string();
    let mut token_ids = Vec::new();
    for name in ["deploy", "backup"] {
        let (status, body) = admin
            .post(
                "service-accounts/tokens/create",
                &[("account_id", &aid), ("name", name), ("expires_in", "30")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        secrets.push(body["secret"].as_str().unwrap().to_string());
        token_ids.push(body["token"]["id"].to_string());
    }
    let (_, rotated) = admin
        .post("tokens/rotate", &[("id", &token_ids[0]), ("grace", "1h")])
        .await;
    secrets.push(rotated["secret"].as_str().unwrap().to_string());
    let (_, personal) = admin
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "7")],
        )
        .await;
    secrets.push(personal["secret"].as_str().unwrap().to_string());
    // Tokens in use: as a bearer, wrong and right.
    let bearer = Client::new(proc.base()).with_bearer(&secrets[3]);
    assert_eq!(
        bearer.get("service-accounts/list", &[]).await.0,
        StatusCode::OK
    );

    // An invitation: the one-time link, the password set through it, that person's token.
    let (status, invite) = admin
        .post(
            "team/invite",
            &[("email", "dev@example.com"), ("role", "deployment")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invite}");
    let link = invite["link"].as_str().unwrap().to_string();
    let link_code = link.split("code=").nth(1).unwrap().to_string();
    secrets.push(link_code.clone());
    let dev = Client::new(proc.base());
    let dev_password = "developer passphrase 22";
    secrets.push(dev_password.into());
    let (status, body) = dev
        .post(
            "auth/set-password",
            &[
                ("code", &link_code),
                ("password", dev_password),
                ("password_confirm", dev_password),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, dev_token) = dev
        .post(
            "me/tokens/create",
            &[("name", "scripts"), ("expires_in", "30")],
        )
        .await;
    secrets.push(dev_token["secret"].as_str().unwrap().to_string());
    // Pages a browser would load after all this.
    for path in [
        "/service-accounts",
        &format!("/service-accounts/{aid}"),
        "/my-tokens",
        "/team",
        "/audit",
    ] {
        let (status, html) = admin.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for s in &secrets {
            assert!(!html.contains(s.as_str()), "{path} shows a secret");
        }
    }

    let status = proc.stop();
    assert!(status.success(), "graceful shutdown: {status:?}");
    let stdout = proc.stdout();
    let stderr = proc.stderr();
    assert!(
        stderr.contains("Keyward stopped"),
        "the log was captured: {stderr}"
    );
    let database = database_contents(&db).await;
    for secret in &secrets {
        assert!(!contains(&database, secret), "a secret is in the database");
        assert!(!stderr.contains(secret.as_str()), "a secret is in the log");
        if secret != &setup_code {
            assert!(
                !stdout.contains(secret.as_str()),
                "a secret is on standard output"
            );
        }
    }
}
