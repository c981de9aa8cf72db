//! The OpenAPI 3 document, generated from the handlers' annotations, and a readable page made
//! from that same document (so the two can never disagree).

use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use http::HeaderValue;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::PathItem;
use utoipa::{Modify, OpenApi};

use super::types;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward API",
        description = "Automation API of Keyward. Authenticate with `Authorization: Bearer <token>` (a service-account or personal token). Tokens can read and verify; creating, changing, rotating or revoking tokens, accounts or users needs a signed-in session in the web console.",
        version = "1"
    ),
    paths(
        super::whoami::whoami,
        super::introspect::introspect,
        super::accounts::list,
        super::accounts::get,
        super::accounts::tokens,
        super::accounts::my_tokens,
        super::leak::report,
        super::session_only,
    ),
    components(schemas(
        types::ErrorBody,
        types::WhoAmI,
        types::TokenInfo,
        types::Owner,
        types::IntrospectionRequest,
        types::IntrospectionResponse,
        types::ServiceAccount,
        types::ServiceAccountPage,
        types::ServiceAccountDetail,
        types::TokenMetadata,
        types::LeakReport,
        types::LeakReceipt,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "tokens", description = "Who is this token; is that token valid"),
        (name = "service accounts", description = "Read service accounts and their tokens' metadata"),
        (name = "management", description = "Not possible with a token"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("kwsa_… or kwpt_…")
                    .build(),
            ),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn operations(item: &PathItem) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
    .collect()
}

/// `/api/v1/docs`: every endpoint with its description, parameters and answers.
pub async fn docs_page() -> Response {
    let doc = ApiDoc::openapi();
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keyward API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/pkg/keyward.css\"></head><body><main class=\"container\">",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p>{}</p><p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI {}).</p>",
        escape(&doc.info.title),
        escape(doc.info.description.as_deref().unwrap_or_default()),
        "3.1"
    ));
    for (path, item) in doc.paths.paths.iter() {
        for (method, op) in operations(item) {
            html.push_str("<section class=\"panel\">");
            html.push_str(&format!("<h2><code>{method} {}</code></h2>", escape(path)));
            if let Some(summary) = &op.summary {
                html.push_str(&format!("<p><strong>{}</strong></p>", escape(summary)));
            }
            if let Some(description) = &op.description {
                html.push_str(&format!("<p>{}</p>", escape(description)));
            }
            if op.security.is_some() {
                html.push_str("<p class=\"muted\">Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>");
            } else {
                html.push_str("<p class=\"muted\">No authentication.</p>");
            }
            if let Some(params) = &op.parameters {
                html.push_str("<h3>Parameters</h3><ul>");
                for p in params {
                    html.push_str(&format!(
                        "<li><code>{}</code> {}</li>",
                        escape(&p.name),
                        escape(p.description.as_deref().unwrap_or_default())
                    ));
                }
                html.push_str("</ul>");
            }
            html.push_str("<h3>Answers</h3><ul>");
            for (status, response) in op.responses.responses.iter() {
                let description = match response {
                    utoipa::openapi::RefOr::T(r) => r.description.clone(),
                    utoipa::openapi::RefOr::Ref(r) => r.ref_location.clone(),
                };
                html.push_str(&format!(
                    "<li><code>{}</code> {}</li>",
                    escape(status),
                    escape(&description)
                ));
            }
            html.push_str("</ul></section>");
        }
    }
    html.push_str("</main></body></html>");
    let mut res = Html(html).into_response();
    res.headers_mut().insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; frame-ancestors 'none'"),
    );
    res
}
