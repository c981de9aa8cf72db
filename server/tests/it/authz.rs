//! The authorisation matrix: every server function, called by every kind of caller, against
//! the expected answer. One table; each cell runs against fresh fixtures.

use app::backend::auth::Principal;
use app::backend::service::{accounts, team, tokens};
use app::domain::{Role, Sensitive};
use reqwest::StatusCode;

use crate::harness::{Backend, Client, TestApp, TestDb, PASSWORD};

backends!(every_server_function_checks_its_caller);

/// Expected outcome of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum E {
    /// 2xx
    Ok,
    /// 401: nobody (or a dead session) is signed in
    Unauth,
    /// 403 forbidden: signed in, not allowed
    Denied,
    /// 403 session_required: a token may not do this
    Session,
    /// 404: the thing is hidden from this caller
    Hidden,
}
use E::*;

/// Callers, in the order of the table's columns.
const CALLERS: [&str; 7] = [
    "anonymous",
    "viewer",
    "deployment",
    "power user",
    "admin",
    "deactivated",
    "bearer",
];

/// Ids of things a cell may act on, created fresh for each cell.
struct Fixture {
    account: String,
    account_name: String,
    token: String,
    revoked_token: String,
    victim: String,
    my_token: String,
    /// A name nobody uses yet.
    fresh: String,
}

type Args = fn(&Fixture) -> Vec<(&'static str, String)>;

struct Row {
    get: bool,
    endpoint: &'static str,
    args: Args,
    expect: [E; 7],
}

fn none(_: &Fixture) -> Vec<(&'static str, String)> {
    vec![]
}

fn rows() -> Vec<Row> {
    let r = |get: bool, endpoint: &'static str, args: Args, expect: [E; 7]| Row {
        get,
        endpoint,
        args,
        expect,
    };
    vec![
        //                                                                         anon    viewer  deploy  power   admin   deact   bearer
        r(true, "me", none, [Ok, Ok, Ok, Ok, Ok, Ok, Ok]),
        r(
            true,
            "auth/setup-state",
            |_| vec![("code", "x".into())],
            [Ok, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        r(
            true,
            "auth/password-link",
            |_| vec![("code", "x".into())],
            [Ok, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
        r(
            true,
            "service-accounts/list",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "service-accounts/get",
            |f| vec![("id", f.account.clone())],
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "service-accounts/tokens/list",
            |f| vec![("account_id", f.account.clone())],
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "me/tokens/list",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "me/tokens/expiring",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "tokens/get",
            |f| vec![("id", f.token.clone())],
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        // Another person's personal token: only Admins (and an Admin-role token) see it.
        r(
            true,
            "tokens/get",
            |f| vec![("id", f.my_token.clone())],
            [Unauth, Hidden, Hidden, Hidden, Ok, Unauth, Ok],
        ),
        r(
            true,
            "settings/get",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Ok],
        ),
        r(
            true,
            "team/list",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Session],
        ),
        r(
            true,
            "audit/list",
            none,
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            true,
            "audit/actions",
            none,
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "service-accounts/create",
            |f| vec![("name", f.fresh.clone()), ("role", "viewer".into())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "service-accounts/update",
            |f| {
                vec![
                    ("id", f.account.clone()),
                    ("role", "deployment".into()),
                    ("description", "d".into()),
                ]
            },
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "service-accounts/set-enabled",
            |f| vec![("id", f.account.clone()), ("enabled", "false".into())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "service-accounts/delete",
            |f| {
                vec![
                    ("id", f.account.clone()),
                    ("confirm_name", f.account_name.clone()),
                ]
            },
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "service-accounts/tokens/create",
            |f| {
                vec![
                    ("account_id", f.account.clone()),
                    ("name", "fresh".into()),
                    ("expires_in", "30".into()),
                ]
            },
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "me/tokens/create",
            |_| vec![("name", "mine".into()), ("expires_in", "30".into())],
            [Unauth, Ok, Ok, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "tokens/revoke",
            |f| vec![("id", f.token.clone())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "tokens/restore",
            |f| vec![("id", f.revoked_token.clone())],
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "tokens/delete",
            |f| vec![("id", f.revoked_token.clone())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "tokens/update",
            |f| vec![("id", f.token.clone()), ("name", "renamed".into())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        r(
            false,
            "tokens/rotate",
            |f| vec![("id", f.token.clone()), ("grace", "none".into())],
            [Unauth, Denied, Denied, Ok, Ok, Unauth, Session],
        ),
        // Another person's personal token: hidden from everyone but Admins.
        r(
            false,
            "tokens/revoke",
            |f| vec![("id", f.my_token.clone())],
            [Unauth, Hidden, Hidden, Hidden, Ok, Unauth, Session],
        ),
        // ... and even Admins never obtain a secret for it.
        r(
            false,
            "tokens/rotate",
            |f| vec![("id", f.my_token.clone()), ("grace", "none".into())],
            [Unauth, Hidden, Hidden, Hidden, Denied, Unauth, Session],
        ),
        r(
            false,
            "team/invite",
            |f| {
                vec![
                    ("email", format!("{}@example.com", f.fresh)),
                    ("role", "viewer".into()),
                ]
            },
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "team/reset-link",
            |f| vec![("id", f.victim.clone())],
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "team/change-role",
            |f| vec![("id", f.victim.clone()), ("role", "deployment".into())],
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "team/set-active",
            |f| vec![("id", f.victim.clone()), ("active", "false".into())],
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "team/remove",
            |f| vec![("id", f.victim.clone())],
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
        r(
            false,
            "settings/update",
            |_| {
                vec![
                    ("max_token_lifetime_days", "".into()),
                    ("default_rate_limit_per_minute", "100".into()),
                ]
            },
            [Unauth, Denied, Denied, Denied, Ok, Unauth, Session],
        ),
    ]
}

async fn fixture(app: &TestApp, n: usize) -> Fixture {
    let op = Principal::operator();
    let name = format!("fixture_{n}");
    let account = accounts::create(&app.state, &op, &name, "", "viewer")
        .await
        .unwrap();
    let input =
        |name: &'static str| tokens::NewTokenInput::simple(name, tokens::ExpiryInput::Text("30d"));
    let owner = tokens::Owner::ServiceAccount(account.id);
    let token = tokens::create(&app.state, &op, owner, input("live"))
        .await
        .unwrap();
    let revoked = tokens::create(&app.state, &op, owner, input("revoked"))
        .await
        .unwrap();
    tokens::revoke(&app.state, &op, revoked.token.id)
        .await
        .unwrap();
    let victim = team::create_with_password(
        &app.state,
        &op,
        &format!("victim{n}@example.com"),
        "",
        Role::Viewer,
        Sensitive::new(PASSWORD),
    )
    .await
    .unwrap();
    // A personal token that belongs to the victim (created the way the victim would).
    let victim_principal = Principal {
        subject: app::backend::auth::Subject::User {
            id: victim.id,
            email: victim.email.clone(),
        },
        role: Role::Viewer,
        via: app::backend::auth::Via::Session,
        request: Default::default(),
        label: victim.email.clone(),
    };
    let mine = tokens::create(
        &app.state,
        &victim_principal,
        tokens::Owner::User(victim.id),
        input("personal"),
    )
    .await
    .unwrap();
    Fixture {
        account: account.id.to_string(),
        account_name: name,
        token: token.token.id.to_string(),
        revoked_token: revoked.token.id.to_string(),
        victim: victim.id.to_string(),
        my_token: mine.token.id.to_string(),
        fresh: format!("fresh_{n}"),
    }
}

async fn every_server_function_checks_its_caller(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let anonymous = app.client();
    let viewer = app.user("viewer@example.com", Role::Viewer).await;
    let deployment = app.user("deploy@example.com", Role::Deployment).await;
    let power = app.user("power@example.com", Role::PowerUser).await;
    let admin = app.user("admin@example.com", Role::Admin).await;
    let deactivated = app.user("gone@example.com", Role::Admin).await;
    let gone_id = deactivated.me().await["id"].as_i64().unwrap();
    team::set_active(&app.state, &Principal::operator(), gone_id, false)
        .await
        .unwrap();
    // The bearer is as strong as it gets: a token of an Admin-role service account.
    let op = Principal::operator();
    let robot = accounts::create(&app.state, &op, "robot", "", "admin")
        .await
        .unwrap();
    let robot_token = tokens::create(
        &app.state,
        &op,
        tokens::Owner::ServiceAccount(robot.id),
        tokens::NewTokenInput::simple("robot", tokens::ExpiryInput::Text("30d")),
    )
    .await
    .unwrap();
    let bearer = anonymous.with_bearer(robot_token.secret.expose());
    let callers: [&Client; 7] = [
        &anonymous,
        &viewer,
        &deployment,
        &power,
        &admin,
        &deactivated,
        &bearer,
    ];

    let mut failures = Vec::new();
    let mut n = 0;
    for row in rows() {
        for (i, caller) in callers.iter().enumerate() {
            n += 1;
            let f = fixture(&app, n).await;
            let args = (row.args)(&f);
            let pairs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = if row.get {
                caller.get(row.endpoint, &pairs).await
            } else {
                caller.post(row.endpoint, &pairs).await
            };
            let got = match (status, body["code"].as_str()) {
                (s, _) if s.is_success() => Ok,
                (StatusCode::UNAUTHORIZED, _) => Unauth,
                (StatusCode::FORBIDDEN, Some("session_required")) => Session,
                (StatusCode::FORBIDDEN, _) => Denied,
                (StatusCode::NOT_FOUND, _) => Hidden,
                _ => {
                    failures.push(format!(
                        "{} as {}: unexpected {status} {body}",
                        row.endpoint, CALLERS[i]
                    ));
                    continue;
                }
            };
            if got != row.expect[i] {
                failures.push(format!(
                    "{} as {}: expected {:?}, got {:?} ({status} {body})",
                    row.endpoint, CALLERS[i], row.expect[i], got
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}
