//! The Content Security Policy of every page: scripts only from this origin or carrying this
//! response's nonce (Leptos puts it on its hydration and resource scripts), WebAssembly
//! allowed, nothing framed, forms only to this origin.

use leptos::nonce::{provide_nonce, use_nonce};
use leptos::prelude::use_context;

pub fn policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub fn provide_nonce_and_policy() {
    provide_nonce();
    let (Some(nonce), Some(res)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&policy(&nonce)) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
