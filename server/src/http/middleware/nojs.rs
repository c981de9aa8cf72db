//! Forms posted by a browser without JavaScript.
//!
//! An `ActionForm` without JavaScript is a plain `<form method="post">` to the server
//! function's URL. Leptos on its own answers such a post with a redirect back and drops the
//! outcome. Here instead the function runs as usual (asked for JSON), and then:
//! - success: `303 See Other` to where the function asked to go, or back to the page
//!   (post/redirect/get, so a reload does not post again);
//! - success of a one-time endpoint (a new token's secret, a set-password link): the page the
//!   form was on is rendered once more, with the answer in it, and not cached;
//! - failure of a signed-in user: the outcome is kept in the session and the browser is sent
//!   back to the page (303), which then shows the error beside the field at fault and the
//!   fields refilled (never passwords), once; a reload shows the plain page;
//! - failure of an anonymous visitor (the login and setup forms): the same, but the outcome
//!   travels in a short-lived signed cookie instead of the session. A session would let
//!   anyone write a database row per failed post (and fill the database); this way an
//!   anonymous post leaves nothing on the server. Anyone can get such a cookie by failing a
//!   post, so it is honoured only where it belongs: it is signed with its issue time (five
//!   minutes), carries one of the anonymous endpoints (login, setup, set-password), and is
//!   ignored for a signed-in visitor.
//!
//! Echoed values are bounded (`ECHO_FIELD_LIMIT`, `ECHO_TOTAL_LIMIT`): every real field is
//! far shorter, and a session never carries more than a few KiB of echo.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, REFERER, SET_COOKIE,
};
use http::{HeaderValue, Method, StatusCode};
use leptos::prelude::provide_context;

use app::api::{ANONYMOUS_ENDPOINTS, ONE_TIME_ENDPOINTS, PREFIX};
use app::backend::auth::SessionAuth;
use app::backend::db::session_store::AUTH_KEY;
use app::backend::state::AppState;
use app::components::form::{NoJsOutcome, FLASH_KEY, NEVER_ECHOED};
use app::errors::AppError;

const FORM_LIMIT: usize = 64 * 1024;
const RESULT_LIMIT: usize = 4 * 1024 * 1024;
/// The longest field a form has is an IP allowlist (2 KiB); longer values are not echoed.
const ECHO_FIELD_LIMIT: usize = 4 * 1024;
const ECHO_TOTAL_LIMIT: usize = 8 * 1024;
/// An anonymous outcome rides in a cookie, which must stay well under 4 KiB.
const ANONYMOUS_ECHO_LIMIT: usize = 512;
const COOKIE_VALUE_LIMIT: usize = 3 * 1024;
pub const FLASH_COOKIE: &str = "keyward_flash";
/// The name when cookies are secure: the browser then accepts it only from https, for the
/// whole host, never set by a sibling domain.
pub const FLASH_COOKIE_SECURE: &str = "__Host-keyward_flash";
const FLASH_MAX_AGE_SECS: i64 = 300;

/// The fields to refill: never passwords, never oversized, and a bounded total.
fn echo_values(form: &[u8], limit: usize) -> Vec<(String, String)> {
    let mut total = 0;
    url::form_urlencoded::parse(form)
        .into_owned()
        .filter(|(k, _)| !NEVER_ECHOED.contains(&k.as_str()))
        .filter(|(k, v)| k.len() + v.len() <= ECHO_FIELD_LIMIT)
        .filter(|(k, v)| {
            total += k.len() + v.len();
            total <= limit
        })
        .collect()
}

fn is_plain_form_post(req: &Request) -> bool {
    let accepts_html = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    req.method() == Method::POST && req.uri().path().starts_with(PREFIX) && accepts_html && form
}

/// The path and query of the page the form was on, if it is one of ours.
fn referring_page(req: &Request, state: &AppState) -> String {
    let referer = req.headers().get(REFERER).and_then(|v| v.to_str().ok());
    let Some(url) = referer.and_then(|r| url::Url::parse(r).ok()) else {
        return "/".into();
    };
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let same_site = super::origin::origin_allowed(
        &url.origin().ascii_serialization(),
        &state.config.origin(),
        host,
    );
    if !same_site || url.path().starts_with(PREFIX) {
        return "/".into();
    }
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

pub async fn plain_form_posts(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let endpoint = req.uri().path().to_string();
    let page = referring_page(&req, &state);
    let (mut parts, body) = req.into_parts();
    let Ok(form) = to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let values = echo_values(&form, ECHO_TOTAL_LIMIT);
    parts
        .headers
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    let page_headers = parts.headers.clone();
    let page_extensions = parts.extensions.clone();

    let res = next
        .run(Request::from_parts(parts, Body::from(form.clone())))
        .await;
    let failed = !res.status().is_success() || res.headers().contains_key("serverfnerror");
    let location = res
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|l| app::domain::redirect::is_local_path(l))
        .map(str::to_string);
    let bytes = to_bytes(res.into_body(), RESULT_LIMIT)
        .await
        .unwrap_or_default();

    let result = if failed {
        Err(
            serde_json::from_slice::<AppError>(&bytes).unwrap_or_else(|_| {
                AppError::bad_request(
                    "The form could not be processed. Reload the page and try again.",
                )
            }),
        )
    } else {
        if !ONE_TIME_ENDPOINTS.contains(&endpoint.as_str()) {
            return see_other(&location.unwrap_or(page));
        }
        Ok(serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or(serde_json::Value::Null))
    };
    let status = match &result {
        Err(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        Ok(_) => StatusCode::OK,
    };
    let outcome = NoJsOutcome {
        endpoint,
        result,
        values,
    };
    if outcome.result.is_err() {
        if let Some(session) = page_extensions.get::<tower_sessions::Session>() {
            let signed_in = matches!(session.get::<SessionAuth>(AUTH_KEY).await, Ok(Some(_)));
            if signed_in && session.insert(FLASH_KEY, &outcome).await.is_ok() {
                return see_other(&page);
            }
            if !signed_in && ANONYMOUS_ENDPOINTS.contains(&outcome.endpoint.as_str()) {
                let outcome = NoJsOutcome {
                    values: echo_values(&form, ANONYMOUS_ECHO_LIMIT),
                    ..outcome.clone()
                };
                if let Some(cookie) = flash_cookie(&state, &outcome) {
                    let mut res = see_other(&page);
                    res.headers_mut().append(SET_COOKIE, cookie);
                    return res;
                }
            }
        }
    }
    let mut res = render(&state, &page, page_headers, page_extensions, outcome).await;
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn flash_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies {
        FLASH_COOKIE_SECURE
    } else {
        FLASH_COOKIE
    }
}

fn flash_mac(state: &AppState, issued_at: i64, json: &[u8]) -> String {
    let mut data = format!("nojs-flash:{issued_at}:").into_bytes();
    data.extend_from_slice(json);
    app::backend::crypto::to_hex(&state.key.keyed_hash(&data))
}

fn cookie_attributes(state: &AppState, max_age: i64) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// `keyward_flash=<issue time>.<outcome as JSON, form-encoded>.<MAC>`, valid for five minutes.
/// Signed with the server key (over the issue time and the outcome, endpoint included) so
/// that nobody can put words in our pages or replay an old outcome.
fn flash_cookie(state: &AppState, outcome: &NoJsOutcome) -> Option<HeaderValue> {
    let json = serde_json::to_vec(outcome).ok()?;
    let value: String = url::form_urlencoded::byte_serialize(&json).collect();
    if value.len() > COOKIE_VALUE_LIMIT {
        return None;
    }
    let issued_at = app::domain::timefmt::now();
    let mac = flash_mac(state, issued_at, &json);
    HeaderValue::from_str(&format!(
        "{}={issued_at}.{value}.{mac}{}",
        flash_cookie_name(state),
        cookie_attributes(state, FLASH_MAX_AGE_SECS)
    ))
    .ok()
}

/// The outcome in a request's flash cookie, if there is one, it is ours, it is fresh and it
/// is the outcome of an anonymous endpoint.
fn read_flash_cookie(state: &AppState, headers: &http::HeaderMap) -> Option<NoJsOutcome> {
    let prefix = format!("{}=", flash_cookie_name(state));
    let raw = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&prefix).map(str::to_string))?;
    let (issued_at, rest) = raw.split_once('.')?;
    let (value, mac) = rest.rsplit_once('.')?;
    let issued_at: i64 = issued_at.parse().ok()?;
    let encoded = format!("v={value}");
    let (_, json) = url::form_urlencoded::parse(encoded.as_bytes()).next()?;
    let expected = flash_mac(state, issued_at, json.as_bytes());
    if !app::backend::crypto::hashes_equal(expected.as_bytes(), mac.as_bytes()) {
        return None;
    }
    let age = app::domain::timefmt::now() - issued_at;
    if !(0..=FLASH_MAX_AGE_SECS).contains(&age) {
        return None;
    }
    let outcome: NoJsOutcome = serde_json::from_str(&json).ok()?;
    ANONYMOUS_ENDPOINTS
        .contains(&outcome.endpoint.as_str())
        .then_some(outcome)
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Renders one of our pages as a GET of `page`, with the form's outcome in context.
async fn render(
    state: &AppState,
    page: &str,
    mut headers: http::HeaderMap,
    extensions: http::Extensions,
    outcome: NoJsOutcome,
) -> Response {
    headers.remove(CONTENT_TYPE);
    headers.remove(CONTENT_LENGTH);
    headers.insert(ACCEPT, HeaderValue::from_static("text/html"));
    let mut req = Request::new(Body::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = page.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
    *req.headers_mut() = headers;
    *req.extensions_mut() = extensions;
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(context_state.clone());
            provide_context(outcome.clone());
        },
        move || app::shell(options.clone()),
    );
    handler(req).await
}

fn has_flash_cookie(state: &AppState, headers: &http::HeaderMap) -> bool {
    let prefix = format!("{}=", flash_cookie_name(state));
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim().starts_with(&prefix))
}

/// Page views pick up a waiting no-JS outcome (see above) and hand it to the page render.
pub async fn flash_outcome(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let is_page = req.method() == Method::GET
        && !req.uri().path().starts_with("/api/")
        && !req.uri().path().starts_with("/pkg/");
    let mut from_cookie = false;
    if is_page {
        let session = req.extensions().get::<tower_sessions::Session>().cloned();
        let signed_in = match &session {
            Some(s) => matches!(s.get::<SessionAuth>(AUTH_KEY).await, Ok(Some(_))),
            None => false,
        };
        from_cookie = has_flash_cookie(&state, req.headers());
        if !signed_in {
            if let Some(outcome) = read_flash_cookie(&state, req.headers()) {
                req.extensions_mut().insert(outcome);
            }
        } else if let Some(session) = session {
            if let Ok(Some(outcome)) = session.remove::<NoJsOutcome>(FLASH_KEY).await {
                req.extensions_mut().insert(outcome);
            }
        }
    }
    let mut res = next.run(req).await;
    if from_cookie {
        // Shown once (or not at all): a reload shows the plain page.
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}",
            flash_cookie_name(&state),
            cookie_attributes(&state, 0)
        )) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}
