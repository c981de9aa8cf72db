//! The cap of 20 live tokens and unique names hold when requests race: they are enforced in
//! the database transaction (row lock on PostgreSQL, the write lock on SQLite), not only in Rust.

use app::domain::Role;
use reqwest::StatusCode;

use crate::harness::{count_sql, create_account, Backend, TestApp, TestDb};

backends!(
    fifty_concurrent_creates_leave_exactly_twenty_live,
    twenty_concurrent_creates_of_one_name_make_one_token
);

async fn fifty_concurrent_creates_leave_exactly_twenty_live(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let aid = account.to_string();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let admin = admin.clone();
            let aid = aid.clone();
            tokio::spawn(async move {
                let name = format!("racer_{i:02}");
                admin
                    .post(
                        "service-accounts/tokens/create",
                        &[("account_id", &aid), ("name", &name), ("expires_in", "30")],
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "limit_reached", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, refused), (20, 30));
    let live = count_sql(
        &app.state,
        &format!("SELECT COUNT(*) AS n FROM tokens WHERE service_account_id = {account} AND revoked_at IS NULL"),
    )
    .await;
    assert_eq!(live, 20);
    app.stop().await;
}

async fn twenty_concurrent_creates_of_one_name_make_one_token(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let account = create_account(&admin, "ci_bot", "viewer").await;
    let aid = account.to_string();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let admin = admin.clone();
            let aid = aid.clone();
            tokio::spawn(async move {
                admin
                    .post(
                        "service-accounts/tokens/create",
                        &[
                            ("account_id", &aid),
                            ("name", "same_name"),
                            ("expires_in", "30"),
                        ],
                    )
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        if status == StatusCode::CONFLICT {
            assert_eq!(body["field"], "name", "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19,
        "{statuses:?}"
    );
    let n = count_sql(
        &app.state,
        &format!("SELECT COUNT(*) AS n FROM tokens WHERE service_account_id = {account}"),
    )
    .await;
    assert_eq!(n, 1);
    app.stop().await;
}
