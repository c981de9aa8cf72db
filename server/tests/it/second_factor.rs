//! Two-step sign-in (issue 15): an authenticator app (TOTP) and recovery codes, through the
//! real router on both databases. Codes are computed here from the secret the account page
//! shows, the way an authenticator app would.

use std::time::Duration;

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::harness::*;

backends!(
    enrolment_turns_on_the_second_step_of_sign_in,
    app_codes_are_single_use,
    recovery_codes_work_once_even_when_raced,
    wrong_codes_are_throttled_like_passwords,
    the_pending_sign_in_ends_with_the_account,
    turning_off_and_new_codes_ask_for_the_password,
    admins_reset_a_lost_factor_and_only_admins,
    second_factor_endpoints_need_a_signed_in_person,
    the_command_line_resets_the_only_admins_factor,
);

const EMAIL: &str = "ada@example.com";

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The app's side: a secret scanned from the account page, and its code for a 30-second step.
struct Authenticator(Vec<u8>);

impl Authenticator {
    fn from_page(shown: &str) -> Self {
        let compact: String = shown.split_whitespace().collect();
        Authenticator(
            Secret::Encoded(compact)
                .to_bytes()
                .expect("the shown key is base32"),
        )
    }

    fn code(&self, step: i64) -> String {
        TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            0,
            30,
            self.0.clone(),
            None,
            String::new(),
        )
        .generate((step * 30) as u64)
    }
}

fn step_now() -> i64 {
    unix_now().div_euclid(30)
}

/// Starts enrolment as `client` and returns the app holding the shown secret.
async fn begin(client: &Client) -> Authenticator {
    let (status, body) = client.post("account/totp-begin", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, overview) = client.get("account/second-factor", &[]).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let pending = &overview["totp"]["Pending"];
    assert!(
        pending["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Keyward:"),
        "{pending}"
    );
    assert!(
        pending["qr_svg"].as_str().unwrap().starts_with("<svg"),
        "an inline QR code"
    );
    Authenticator::from_page(pending["secret"].as_str().expect("secret shown"))
}

/// Enrols `client` fully; returns the app, the step its confirming code was for, and the
/// recovery codes.
async fn enrol(client: &Client) -> (Authenticator, i64, Vec<String>) {
    let app = begin(client).await;
    let step = step_now();
    let (status, body) = client
        .post("account/totp-confirm", &[("code", &app.code(step))])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes: Vec<String> = body["codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (app, step, codes)
}

/// Signs in with the password and returns where the answer sends the browser.
async fn password_step(client: &Client) -> String {
    let res = client
        .http
        .post(client.url_of("/api/fn/auth/login"))
        .form(&[("email", EMAIL), ("password", PASSWORD), ("next", "/team")])
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("answered");
    assert!(res.status().is_success(), "{}", res.status());
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn signed_in(client: &Client) -> bool {
    let (status, me) = client.get("me", &[]).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    !me.is_null()
}

async fn code_step(client: &Client, code: &str) -> (StatusCode, Value) {
    client
        .post("auth/second-factor", &[("code", code), ("next", "/team")])
        .await
}

async fn enrolled_user(app: &TestApp) -> (Client, Authenticator, i64, Vec<String>) {
    let client = app.user(EMAIL, Role::Admin).await;
    let (auth, step, codes) = enrol(&client).await;
    (client, auth, step, codes)
}

async fn enrolment_turns_on_the_second_step_of_sign_in(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.user(EMAIL, Role::Admin).await;
    let auth = begin(&client).await;

    // A wrong or malformed code leaves the setup pending.
    let wrong = if auth.code(step_now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, body) = client
        .post("account/totp-confirm", &[("code", wrong)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "code");
    let (status, body) = client
        .post("account/totp-confirm", &[("code", "12345")])
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
    );
    let (_, overview) = client.get("account/second-factor", &[]).await;
    assert!(overview["totp"]["Pending"].is_object(), "{overview}");
    // Until it is confirmed, signing in needs no code.
    let other = app.client();
    assert_eq!(password_step(&other).await, "/team");

    let step = step_now();
    let (status, body) = client
        .post("account/totp-confirm", &[("code", &auth.code(step))])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes: Vec<&str> = body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10, "ten different codes");
    let (_, overview) = client.get("account/second-factor", &[]).await;
    assert!(overview["totp"]["On"]["since"].is_i64(), "{overview}");
    assert_eq!(overview["recovery_codes_left"], 10);

    // Neither the secret nor a recovery code is stored readable.
    create_account(&client, "ci_bot", "viewer").await; // the dump checks it covers data
    let stored = database_contents(&db).await;
    for code in &codes {
        assert!(
            !contains(&stored, code),
            "recovery code {code} stored in the clear"
        );
        assert!(
            !contains(&stored, &code.replace('-', "")),
            "recovery code stored in the clear"
        );
    }
    let base32: String = totp_rs::Secret::Raw(auth.0.clone())
        .to_encoded()
        .to_string();
    assert!(!contains(&stored, &base32), "TOTP secret stored in base32");

    // Signing in now takes two steps; the password alone signs nobody in.
    let browser = app.client();
    let next = password_step(&browser).await;
    assert_eq!(next, "/login/second-factor?next=%2Fteam");
    assert!(!signed_in(&browser).await, "the password alone signed in");
    let (status, pending) = browser.get("auth/pending-sign-in", &[]).await;
    assert_eq!(
        (status, pending["email"].as_str()),
        (StatusCode::OK, Some(EMAIL))
    );
    let (status, body) = browser.get("service-accounts/list", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // The next step's code (within the allowed clock skew, after the one that confirmed).
    let res = browser
        .http
        .post(browser.url_of("/api/fn/auth/second-factor"))
        .form(&[("code", auth.code(step + 1).as_str()), ("next", "/team")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers().get("location").map(|v| v.to_str().unwrap()),
        Some("/team")
    );
    assert!(signed_in(&browser).await);
    let (_, pending) = browser.get("auth/pending-sign-in", &[]).await;
    assert!(pending.is_null(), "the pending step is gone: {pending}");
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND details LIKE '%\"second_factor\":\"totp\"%'"
        )
        .await,
        1,
        "the sign-in records its second factor"
    );
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.totp_enable'"
        )
        .await,
        1
    );
    // The team list shows who has a second factor.
    let (_, team) = client.get("team/list", &[]).await;
    let me = team
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == EMAIL)
        .unwrap()
        .clone();
    assert_eq!(me["second_factor"], true);
    app.stop().await;
}

async fn app_codes_are_single_use(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let (_client, auth, step, _) = enrolled_user(&app).await;
    // The code that confirmed the app cannot sign in afterwards.
    let first = app.client();
    password_step(&first).await;
    let (status, body) = code_step(&first, &auth.code(step)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code")),
        "{body}"
    );
    assert!(!signed_in(&first).await);
    let (status, body) = code_step(&first, &auth.code(step + 1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(signed_in(&first).await);
    // Seen once, a code is refused everywhere (several processes share the database).
    let second = app.client();
    password_step(&second).await;
    let (status, _) = code_step(&second, &auth.code(step + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Codes from far outside the window are refused too.
    let (status, _) = code_step(&second, &auth.code(step + 5)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!signed_in(&second).await);
    app.stop().await;
}

async fn recovery_codes_work_once_even_when_raced(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let (client, _auth, _, codes) = enrolled_user(&app).await;
    let browsers: Vec<Client> = (0..4).map(|_| app.client()).collect();
    for browser in &browsers {
        password_step(browser).await;
    }
    // Typed in capitals without the dash, it is the same code.
    let typed = codes[0].replace('-', "").to_uppercase();
    let results =
        futures::future::join_all(browsers.iter().map(|browser| code_step(browser, &typed))).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "exactly one use of one code: {results:?}");
    let (_, overview) = client.get("account/second-factor", &[]).await;
    assert_eq!(overview["recovery_codes_left"], 9);
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND details LIKE '%\"recovery_codes_left\":9%'"
        )
        .await,
        1
    );
    // Another code still works.
    let late = app.client();
    password_step(&late).await;
    let (status, body) = code_step(&late, &codes[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

async fn wrong_codes_are_throttled_like_passwords(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let (_client, auth, step, _) = enrolled_user(&app).await;
    let browser = app.client();
    password_step(&browser).await;
    let right = auth.code(step + 1);
    let wrong = if right == "999999" {
        "999998"
    } else {
        "999999"
    };
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(code_step(&browser, wrong).await.0);
    }
    assert!(
        statuses[..5]
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Locked out, even the right code does not sign in.
    let (status, _) = code_step(&browser, &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!signed_in(&browser).await);
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login_failed' AND details LIKE '%second_factor%'"
        )
        .await,
        5
    );
    // Malformed input costs nothing and says what is expected.
    let fresh = app.client();
    let (status, body) = code_step(&fresh, "12 34").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, None),
        "no pending sign-in: {body}"
    );
    app.stop().await;
}

async fn the_pending_sign_in_ends_with_the_account(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let (_client, auth, step, _) = enrolled_user(&app).await;
    let boss = app.user("boss@example.com", Role::Admin).await;

    // No password step on this browser: nothing to complete.
    let stranger = app.client();
    let (status, body) = code_step(&stranger, &auth.code(step + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert!(!signed_in(&stranger).await);

    // Deactivated between the two steps: the right code no longer signs in.
    let browser = app.client();
    password_step(&browser).await;
    let id = count_sql(
        &app.state,
        &format!("SELECT id AS n FROM users WHERE email = '{EMAIL}'"),
    )
    .await;
    let (status, body) = boss
        .post(
            "team/set-active",
            &[("id", &id.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = code_step(&browser, &auth.code(step + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert!(!signed_in(&browser).await);
    app.stop().await;
}

async fn turning_off_and_new_codes_ask_for_the_password(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let (client, auth, step, old_codes) = enrolled_user(&app).await;

    let (status, body) = client
        .post("account/recovery-codes", &[("password", "not my password")])
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
        "{body}"
    );
    let (status, body) = client
        .post("account/recovery-codes", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_codes: Vec<String> = body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(new_codes.len(), 10);
    // The old codes stopped working, the new ones work.
    let browser = app.client();
    password_step(&browser).await;
    let (status, _) = code_step(&browser, &old_codes[0]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = code_step(&browser, &new_codes[0]).await;
    assert_eq!(status, StatusCode::OK);

    // Turning the app off needs the password; a wrong one changes nothing.
    let (status, body) = client
        .post("account/totp-disable", &[("password", "not my password")])
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
        "{body}"
    );
    let (_, overview) = client.get("account/second-factor", &[]).await;
    assert!(overview["totp"]["On"].is_object(), "{overview}");
    let (status, body) = client
        .post("account/totp-disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, overview) = client.get("account/second-factor", &[]).await;
    assert_eq!(overview["totp"], "Off", "{overview}");
    assert_eq!(overview["recovery_codes_left"], 0);
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM recovery_codes").await,
        0
    );
    // The password alone signs in again, and the old app's codes mean nothing.
    let after = app.client();
    assert_eq!(password_step(&after).await, "/team");
    assert!(signed_in(&after).await);
    let (status, _) = code_step(&app.client(), &auth.code(step + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for action in ["user.recovery_codes_regenerate", "user.totp_disable"] {
        assert_eq!(
            count_sql(
                &app.state,
                &format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'")
            )
            .await,
            1,
            "{action}"
        );
    }
    app.stop().await;
}

async fn admins_reset_a_lost_factor_and_only_admins(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let boss = app.user("boss@example.com", Role::Admin).await;
    let power = app.user("power@example.com", Role::PowerUser).await;
    let (client, _auth, _, _) = enrolled_user(&app).await;
    let id = count_sql(
        &app.state,
        &format!("SELECT id AS n FROM users WHERE email = '{EMAIL}'"),
    )
    .await
    .to_string();

    let (status, body) = power.post("team/reset-second-factor", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An Admin's own factor goes through their account page (it asks for the password).
    let (status, body) = client
        .post("team/reset-second-factor", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = boss
        .post("team/reset-second-factor", &[("id", "not a number")])
        .await;
    assert!(status.is_client_error(), "{status}: {body}");
    let (status, body) = boss
        .post("team/reset-second-factor", &[("id", "999999")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        count_sql(&app.state, "SELECT COUNT(*) AS n FROM user_totp").await,
        1,
        "refused resets changed nothing"
    );

    let (status, body) = boss.post("team/reset-second-factor", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = app.client();
    assert_eq!(
        password_step(&after).await,
        "/team",
        "the password alone signs in again"
    );
    let (status, body) = boss.post("team/reset-second-factor", &[("id", &id)]).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing left to reset: {body}"
    );
    assert_eq!(
        count_sql(
            &app.state,
            &format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.second_factor_reset' AND target_id = {id}")
        )
        .await,
        1
    );
    app.stop().await;
}

async fn second_factor_endpoints_need_a_signed_in_person(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    let client = app.user(EMAIL, Role::Admin).await;
    let anonymous = app.client();
    for endpoint in [
        "account/totp-begin",
        "account/totp-cancel",
        "account/totp-confirm",
        "account/totp-disable",
        "account/recovery-codes",
    ] {
        let (status, body) = anonymous
            .post(endpoint, &[("code", "123456"), ("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint}: {body}");
    }
    let (status, _) = anonymous.get("account/second-factor", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A personal token is no session: it cannot enrol or read a pending secret.
    let (status, body) = client
        .post("me/tokens/create", &[("name", "cli"), ("expires_in", "30")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bearer = client.with_bearer(body["secret"].as_str().unwrap());
    begin(&client).await;
    let (status, body) = bearer.get("account/second-factor", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = bearer.post("account/totp-begin", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

/// The only Admin lost their phone and codes: the operator resets it on the server.
async fn the_command_line_resets_the_only_admins_factor(b: Backend) {
    let db = TestDb::new(b).await;
    let app = TestApp::start(&db).await;
    enrolled_user(&app).await;
    let (ok, _, err) = keyward(
        &db,
        &[
            "user",
            "reset-second-factor",
            "--email",
            "nobody@example.com",
        ],
        None,
    );
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, out, err) = keyward(
        &db,
        &["user", "reset-second-factor", "--email", "ADA@example.com"],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.is_empty(), "nothing on standard output: {out}");
    let browser = app.client();
    assert_eq!(password_step(&browser).await, "/team");
    assert!(signed_in(&browser).await);
    assert_eq!(
        count_sql(
            &app.state,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.second_factor_reset' AND actor_kind = 'operator'"
        )
        .await,
        1
    );
    app.stop().await;
}
