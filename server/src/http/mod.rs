//! The HTTP surface: the Leptos pages and server functions, health checks, and the middleware
//! every request passes through (outermost first): request id (and the log span), body limit,
//! security headers, client IP, access log and metrics, same-origin check, session,
//! server-function error statuses, no-JS forms.

pub mod api;
pub mod audit_export;
pub mod export;
pub mod health;
pub mod middleware;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::backend::db::session_store::DbSessionStore;
use app::backend::state::AppState;

/// Requests larger than this are refused with 413 before any handler reads them.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const SESSION_COOKIE: &str = "keyward_session";

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let shell = {
        let options = state.leptos_options.clone();
        move || app::shell(options.clone())
    };
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.config.session_idle));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/tokens/export.csv", get(export::export_csv))
        .route("/audit/export.csv", get(audit_export::export_csv))
        .merge(api::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::nojs::plain_form_posts,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::nojs::flash_outcome,
        ))
        .layer(from_fn(middleware::fn_errors::server_fn_errors))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::signed_in::login_page_when_signed_in,
        ))
        .layer(sessions)
        .layer(from_fn_with_state(
            state.clone(),
            middleware::origin::same_origin_only,
        ))
        .layer(from_fn(middleware::access::access_log))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::client_ip::client_ip,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::headers::security_headers,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::request_id::request_id,
        ))
        .with_state(state)
}
