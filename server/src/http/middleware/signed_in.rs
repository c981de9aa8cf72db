//! `GET /login` by someone already signed in goes straight to `next` (a local path only, see
//! `domain::redirect`), answered here instead of by the page's render-time redirect: the
//! answer is a plain 302 whatever the client, decided before any page code runs.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::LOCATION;
use http::{HeaderValue, Method, StatusCode};

use app::backend::auth::{request_info_of, session_principal};
use app::backend::state::AppState;
use app::domain::redirect::safe_next;

pub async fn login_page_when_signed_in(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET || req.uri().path() != "/login" {
        return next.run(req).await;
    }
    let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let signed_in = matches!(
        session_principal(&state, &session, request_info_of(&parts)).await,
        Ok(Some(_))
    );
    if !signed_in {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let target = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    let location = safe_next(target.as_deref());
    let mut res = StatusCode::FOUND.into_response();
    // `safe_next` answers visible ASCII only, a valid header value; "/" should it not be.
    let value = HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/"));
    res.headers_mut().insert(LOCATION, value);
    res
}
