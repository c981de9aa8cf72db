//! The organisation-wide token table: sort orders (ties and nulls), search, filters alone and
//! combined, saved searches, bulk revoke, CSV export, and what Power Users see.

use std::collections::BTreeSet;

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{create_account, create_token, exec_sql, Backend, Client, TestApp, TestDb};

backends!(
    every_column_sorts_both_ways_with_ties_and_nulls_in_place,
    search_and_filters_narrow_the_table,
    saved_searches_are_private_or_shared,
    bulk_revoke_by_filter_revokes_exactly_the_matching_live_tokens,
    csv_export_has_the_tables_rows,
    power_users_see_service_account_tokens_only,
);

const DAY: i64 = 86_400;

async fn table(client: &Client, qs: &str) -> Value {
    let (status, body) = client.get("tokens/table", &[("query", qs)]).await;
    assert_eq!(status, StatusCode::OK, "{qs}: {body}");
    body
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// A small organisation with controlled times, owners and states.
struct Org {
    app: TestApp,
    admin: Client,
    now: i64,
}

/// name, account, created days ago, expires in days (None: never), last used days ago
/// (None: never), description.
type PlannedToken = (
    &'static str,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    &'static str,
);

async fn org(b: Backend) -> (TestDb, Org) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let now = app::backend::service::now();
    let alpha = create_account(&admin, "alpha_bot", "viewer").await;
    let beta = create_account(&admin, "beta_bot", "power_user").await;
    let gamma = create_account(&admin, "gamma_bot", "admin").await;
    let plan: [PlannedToken; 9] = [
        (
            "deploy_prod",
            alpha,
            10,
            Some(30),
            Some(1),
            "GitHub Actions",
        ),
        ("deploy_stage", alpha, 20, Some(3), None, ""),
        ("backup", alpha, 30, None, Some(100), "Nightly backup"),
        ("metrics", beta, 40, Some(200), Some(5), ""),
        (
            "deploy_prod",
            beta,
            50,
            Some(60),
            None,
            "copy of the alpha one",
        ),
        ("cron", beta, 60, None, Some(200), ""),
        ("terraform", gamma, 70, Some(400), Some(1), "Infra_100%"),
        ("readonly", gamma, 80, Some(90), None, ""),
        ("zeta", gamma, 90, Some(365), Some(30), ""),
    ];
    for (name, account, created, expires, used, description) in plan {
        let (id, _) = create_token(&admin, account, name).await;
        let expires = expires
            .map(|d| (now + d * DAY).to_string())
            .unwrap_or_else(|| "NULL".into());
        let used = used
            .map(|d| (now - d * DAY).to_string())
            .unwrap_or_else(|| "NULL".into());
        exec_sql(
            &app.state,
            &format!(
                "UPDATE tokens SET created_at = {}, expires_at = {expires}, last_used_at = {used}, description = '{description}', \
                 search_text = lower(name || char(10) || display_prefix || char(10) || owner_name || char(10) || '{description}') WHERE id = {id}",
                now - created * DAY
            )
            .replace("char(10)", if b == Backend::Postgres { "chr(10)" } else { "char(10)" }),
        )
        .await;
    }
    // One revoked, one expired, one owner disabled; a personal token.
    let (_, list) = admin
        .get(
            "service-accounts/tokens/list",
            &[("account_id", &alpha.to_string())],
        )
        .await;
    let backup = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "backup")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    admin
        .post("tokens/revoke", &[("id", &backup.to_string())])
        .await;
    let (_, list) = admin
        .get(
            "service-accounts/tokens/list",
            &[("account_id", &beta.to_string())],
        )
        .await;
    let cron = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "cron")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    exec_sql(
        &app.state,
        &format!(
            "UPDATE tokens SET expires_at = {} WHERE id = {cron}",
            now - DAY
        ),
    )
    .await;
    admin
        .post(
            "service-accounts/set-enabled",
            &[("id", &gamma.to_string()), ("enabled", "false")],
        )
        .await;
    let (status, _) = admin
        .post(
            "me/tokens/create",
            &[("name", "laptop"), ("expires_in", "30")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    (db, Org { app, admin, now })
}

/// The expected order of `items` for a sort, computed independently of the server.
pub(crate) fn expected(items: &[Value], sort: &str, desc: bool) -> Vec<i64> {
    let mut v: Vec<&Value> = items.iter().collect();
    let id = |t: &Value| t["id"].as_i64().unwrap();
    let text = |t: &Value, k: &str| t[k].as_str().unwrap_or_default().to_string();
    let status_rank = |t: &Value| {
        [
            "active",
            "expiring_soon",
            "owner_disabled",
            "expired",
            "revoked",
        ]
        .iter()
        .position(|s| *s == t["status"])
        .unwrap()
    };
    let role_rank = |t: &Value| {
        ["viewer", "deployment", "power_user", "admin"]
            .iter()
            .position(|s| *s == t["role"])
            .unwrap()
    };
    v.sort_by(|a, b| {
        use std::cmp::Ordering;
        let primary: Ordering = match sort {
            "name" => text(a, "name").cmp(&text(b, "name")),
            "prefix" => text(a, "display_prefix").cmp(&text(b, "display_prefix")),
            "owner" => a["owner"]["name"]
                .as_str()
                .cmp(&b["owner"]["name"].as_str()),
            "owner_type" => text(a, "kind").cmp(&text(b, "kind")),
            "role" => role_rank(a).cmp(&role_rank(b)),
            "created" => a["created_at"].as_i64().cmp(&b["created_at"].as_i64()),
            "status" => status_rank(a).cmp(&status_rank(b)),
            // never expires: after every date ascending (and so before every date descending)
            "expires" => (a["expires_at"].is_null(), a["expires_at"].as_i64())
                .cmp(&(b["expires_at"].is_null(), b["expires_at"].as_i64())),
            "last_used" => {
                // never used: last in both directions
                let (an, bn) = (a["last_used_at"].is_null(), b["last_used_at"].is_null());
                if an != bn {
                    return an.cmp(&bn);
                }
                a["last_used_at"].as_i64().cmp(&b["last_used_at"].as_i64())
            }
            _ => unreachable!(),
        };
        let ordered = primary.then(id(a).cmp(&id(b)));
        if desc {
            if sort == "last_used" && a["last_used_at"].is_null() != b["last_used_at"].is_null() {
                return ordered;
            }
            ordered.reverse()
        } else {
            ordered
        }
    });
    v.into_iter().map(id).collect()
}

async fn every_column_sorts_both_ways_with_ties_and_nulls_in_place(b: Backend) {
    let (_db, o) = org(b).await;
    let all = table(&o.admin, "size=100").await;
    let items = all["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 10);
    assert_eq!(all["total"], 10);
    assert_eq!(all["capped"], false);
    for sort in [
        "name",
        "prefix",
        "owner",
        "owner_type",
        "role",
        "created",
        "expires",
        "last_used",
        "status",
    ] {
        for dir in ["asc", "desc"] {
            let page = table(&o.admin, &format!("sort={sort}&dir={dir}&size=100")).await;
            assert_eq!(
                ids(&page),
                expected(&items, sort, dir == "desc"),
                "sort={sort} dir={dir}"
            );
        }
    }
    // Ties: two tokens named deploy_prod, broken by id.
    let by_name = table(&o.admin, "sort=name&dir=asc&size=100").await;
    let n = names(&by_name);
    let first = n.iter().position(|x| x == "deploy_prod").unwrap();
    assert_eq!(n[first + 1], "deploy_prod");
    // Never used last, both ways.
    for dir in ["asc", "desc"] {
        let page = table(&o.admin, &format!("sort=last_used&dir={dir}&size=100")).await;
        let used: Vec<bool> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| !t["last_used_at"].is_null())
            .collect();
        let first_never = used.iter().position(|u| !u).unwrap();
        assert!(used[first_never..].iter().all(|u| !u), "{dir}: {used:?}");
    }
    // Paging walks the same order.
    let p1 = table(&o.admin, "sort=name&dir=asc&size=25").await;
    assert_eq!(p1["page"], 1);
    let small: Vec<i64> = {
        let mut all_pages = Vec::new();
        for page in 1..=1 {
            all_pages.extend(ids(&table(
                &o.admin,
                &format!("sort=created&dir=desc&page={page}"),
            )
            .await));
        }
        all_pages
    };
    assert_eq!(small, expected(&items, "created", true));
}

async fn search_and_filters_narrow_the_table(b: Backend) {
    let (_db, o) = org(b).await;
    let count = |qs: &'static str| {
        let admin = o.admin.clone();
        async move {
            let page = table(&admin, qs).await;
            let mut n = names(&page);
            n.sort();
            n
        }
    };
    // Search: name, prefix, owner name, description; case-insensitive; short and long.
    assert_eq!(
        count("q=DEPLOY").await,
        vec!["deploy_prod", "deploy_prod", "deploy_stage"]
    );
    assert_eq!(
        count("q=gamma_bot").await,
        vec!["readonly", "terraform", "zeta"]
    );
    assert_eq!(count("q=nightly").await, vec!["backup"]);
    assert_eq!(count("q=0%25").await, vec!["terraform"], "two characters");
    assert_eq!(
        count("q=_100%25").await,
        vec!["terraform"],
        "wildcards are literal"
    );
    assert_eq!(count("q=admin%40example").await, vec!["laptop"]);
    assert!(count("q=nothing_like_this").await.is_empty());
    let prefix = table(&o.admin, "q=laptop").await["items"][0]["display_prefix"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        count(Box::leak(format!("q={}", &prefix[..9]).into_boxed_str())).await,
        vec!["laptop"]
    );

    // Each filter alone.
    assert_eq!(count("type=personal").await, vec!["laptop"]);
    assert_eq!(count("status=revoked").await, vec!["backup"]);
    assert_eq!(count("status=expired").await, vec!["cron"]);
    assert_eq!(
        count("status=owner_disabled").await,
        vec!["readonly", "terraform", "zeta"]
    );
    assert_eq!(count("status=expiring_soon").await, vec!["deploy_stage"]);
    assert_eq!(
        count("status=active").await,
        vec!["deploy_prod", "deploy_prod", "laptop", "metrics"]
    );
    assert_eq!(
        count("usage=never").await,
        vec!["deploy_prod", "deploy_stage", "laptop", "readonly"]
    );
    assert_eq!(
        count("usage=unused&days=50").await,
        vec![
            "backup",
            "cron",
            "deploy_prod",
            "deploy_stage",
            "laptop",
            "readonly"
        ]
    );
    assert_eq!(
        count("usage=used&days=7").await,
        vec!["deploy_prod", "metrics", "terraform"]
    );
    assert_eq!(count("expiring=7").await, vec!["deploy_stage"]);
    assert_eq!(
        count("expiring=30").await,
        vec!["deploy_prod", "deploy_stage", "laptop"]
    );
    assert_eq!(
        count("owner=beta_bot").await,
        vec!["cron", "deploy_prod", "metrics"]
    );
    assert_eq!(
        count("owner=beta_bot,admin%40example.com").await,
        vec!["cron", "deploy_prod", "laptop", "metrics"]
    );
    let from = app::domain::timefmt::date(o.now - 45 * DAY);
    let to = app::domain::timefmt::date(o.now - 15 * DAY);
    let range = format!("created_from={from}&created_to={to}");
    let page = table(&o.admin, &range).await;
    let mut n = names(&page);
    n.sort();
    assert_eq!(n, vec!["backup", "deploy_stage", "metrics"]);
    // Combined.
    assert_eq!(
        count("q=deploy&owner=alpha_bot&status=active").await,
        vec!["deploy_prod"]
    );
    assert_eq!(
        count("status=active,expiring_soon&usage=never&type=service_account").await,
        vec!["deploy_prod", "deploy_stage"]
    );
    // Several statuses, from a plain form (repeated parameter).
    assert_eq!(
        count("status=revoked&status=expired").await,
        vec!["backup", "cron"]
    );
    // The canonical query string round-trips through the server.
    let qs = "q=deploy&status=active&sort=name&dir=asc";
    let q = app::domain::token_query::TokenQuery::from_query_string(qs);
    assert_eq!(
        ids(&table(&o.admin, qs).await),
        ids(&table(&o.admin, &q.to_query_string()).await)
    );
}

async fn saved_searches_are_private_or_shared(b: Backend) {
    let (_db, o) = org(b).await;
    let power = o.app.user("power@example.com", Role::PowerUser).await;
    let (status, private) = o
        .admin
        .post(
            "saved-searches/save",
            &[("name", "Mine"), ("query", "status=revoked&page=3")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{private}");
    assert_eq!(private["query"], "status=revoked", "saved without the page");
    let (status, shared) = o
        .admin
        .post(
            "saved-searches/save",
            &[
                ("name", "Unused 90d"),
                ("query", "usage=unused&days=90"),
                ("shared", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = o
        .admin
        .post("saved-searches/save", &[("name", "Mine"), ("query", "")])
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::CONFLICT, Some("name"))
    );
    let (status, body) = o
        .admin
        .post("saved-searches/save", &[("name", " "), ("query", "")])
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );

    let (_, mine) = o.admin.get("saved-searches/list", &[]).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let (_, theirs) = power.get("saved-searches/list", &[]).await;
    let theirs = theirs.as_array().unwrap();
    assert_eq!(theirs.len(), 1, "only the shared one");
    assert_eq!(theirs[0]["name"], "Unused 90d");
    assert_eq!(theirs[0]["mine"], false);
    assert_eq!(theirs[0]["owner"], "admin@example.com");
    let (status, _) = power
        .post(
            "saved-searches/delete",
            &[("id", &shared["id"].to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = power
        .post(
            "saved-searches/delete",
            &[("id", &private["id"].to_string())],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a private search is invisible to others"
    );
    let (status, _) = o
        .admin
        .post(
            "saved-searches/delete",
            &[("id", &private["id"].to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = o.admin.get("saved-searches/list", &[]).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

async fn bulk_revoke_by_filter_revokes_exactly_the_matching_live_tokens(b: Backend) {
    let (_db, o) = org(b).await;
    // "Never used" matches 4 tokens; all are live.
    let (_, n) = o
        .admin
        .get("tokens/table/live-count", &[("query", "usage=never")])
        .await;
    assert_eq!(n, 4);
    let (status, body) = o
        .admin
        .post(
            "tokens/revoke-matching",
            &[("query", "usage=never"), ("expected", "3")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("matches 4"));
    assert_eq!(
        table(&o.admin, "status=revoked").await["total"],
        1,
        "a refused bulk revoke revokes nothing"
    );
    let (status, revoked) = o
        .admin
        .post(
            "tokens/revoke-matching",
            &[("query", "usage=never"), ("expected", "4")],
        )
        .await;
    assert_eq!((status, revoked), (StatusCode::OK, Value::from(4)));
    let mut n = names(&table(&o.admin, "status=revoked").await);
    n.sort();
    assert_eq!(
        n,
        vec![
            "backup",
            "deploy_prod",
            "deploy_stage",
            "laptop",
            "readonly"
        ]
    );
    // Expired and already revoked tokens are not "live": a filter that matches them revokes 0.
    let (_, n) = o
        .admin
        .get(
            "tokens/table/live-count",
            &[("query", "status=expired,revoked")],
        )
        .await;
    assert_eq!(n, 0);
    let (status, body) = o
        .admin
        .post(
            "tokens/revoke-matching",
            &[("query", ""), ("expected", "5")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no filter, no mass revoke: {body}"
    );
    // Selected rows.
    let active = ids(&table(&o.admin, "status=active").await);
    let form: Vec<(&str, String)> = active.iter().map(|id| ("ids[]", id.to_string())).collect();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = o.admin.post("tokens/revoke-selected", &pairs).await;
    assert_eq!(
        (status, body.clone()),
        (StatusCode::OK, Value::from(active.len() as i64)),
        "{body}"
    );
    assert_eq!(table(&o.admin, "status=active").await["total"], 0);
    let (_, audit) = o
        .admin
        .get("audit/list", &[("action", "token.bulk_revoke")])
        .await;
    assert_eq!(audit["total"], 2);
    let (status, _) = o.admin.post("tokens/revoke-selected", &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn csv_export_has_the_tables_rows(b: Backend) {
    let (_db, o) = org(b).await;
    for qs in ["", "q=deploy", "status=owner_disabled,expired&sort=name"] {
        let res = o
            .admin
            .http
            .get(format!("{}/tokens/export.csv?{qs}", o.admin.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment"));
        let text = res.text().await.unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            server::http::export::HEADER.join(",")
        );
        let csv_rows: BTreeSet<(i64, String, String, String)> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[0].parse().unwrap(),
                    f[1].to_string(),
                    f[4].to_string(),
                    f[6].to_string(),
                )
            })
            .collect();
        let page = table(&o.admin, &format!("{qs}&size=100")).await;
        let table_rows: BTreeSet<(i64, String, String, String)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_i64().unwrap(),
                    t["name"].as_str().unwrap().to_string(),
                    t["owner"]["name"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(csv_rows, table_rows, "{qs}");
    }
    let res = o
        .app
        .client()
        .http
        .get(format!("{}/tokens/export.csv", o.admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn power_users_see_service_account_tokens_only(b: Backend) {
    let (_db, o) = org(b).await;
    let power = o.app.user("power@example.com", Role::PowerUser).await;
    let page = table(&power, "size=100").await;
    assert_eq!(page["total"], 9);
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["kind"] == "service_account"));
    assert_eq!(table(&power, "type=personal").await["total"], 0);
    assert_eq!(table(&power, "q=laptop").await["total"], 0);
    // Bulk revoke stops at accounts whose role is above a Power User's.
    let (_, n) = power
        .get("tokens/table/live-count", &[("query", "q=deploy_prod")])
        .await;
    assert_eq!(
        n, 2,
        "alpha (viewer) and beta (power user), not an admin account's"
    );
    let (_, n) = power
        .get("tokens/table/live-count", &[("query", "owner=gamma_bot")])
        .await;
    assert_eq!(n, 0);
    let res = power
        .http
        .get(format!("{}/tokens/export.csv?type=personal", power.base))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "header only: {text}");

    let viewer = o.app.user("viewer@example.com", Role::Viewer).await;
    let (status, _) = viewer.get("tokens/table", &[("query", "")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = viewer.get("saved-searches/list", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
