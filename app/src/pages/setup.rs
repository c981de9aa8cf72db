use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{get_setup_state, CompleteSetup};
use crate::components::form::{action_error, nojs_value, Field, FormError, Submit};
use crate::components::layout::{AuthActions, ErrorPanel, Loading};

/// `/setup?code=…`: creates the first Admin with the code printed at start-up.
#[component]
pub fn SetupPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let state = Resource::new(code, get_setup_state);
    let error = action_error(actions.setup);
    view! {
        <Title text="Set up Keyward"/>
        <main id="main" class="auth-page">
            <div class="auth-card">
                <h1>"Set up Keyward"</h1>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        let code_now = code();
                        Suspend::new(async move {
                        match state.await {
                            Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                            Ok(s) if !s.needs_setup => view! {
                                <div class="alert alert-info" role="status">
                                    "Keyward is already set up. " <a href="/login">"Sign in"</a>
                                </div>
                            }
                            .into_any(),
                            Ok(s) if !s.code_valid => view! {
                                <div class="alert alert-error" role="alert">
                                    "This setup link is not valid: it has expired or was already used. Restart Keyward to print a new one, or create the first Admin with "
                                    <code>"keyward user create --admin --email you@example.com"</code>"."
                                </div>
                            }
                            .into_any(),
                            Ok(_) => view! {
                                <p>"Create the first Admin account. This link works once."</p>
                                <ActionForm action=actions.setup attr:class="stack">
                                    <FormError error=error fields=&["email", "display_name", "password", "password_confirm"]/>
                                    <input type="hidden" name="code" value=code_now.clone()/>
                                    <Field id="setup-email".into() name="email" label="E-mail address" input_type="email" autocomplete="username" required=true autofocus=true error=error value={nojs_value::<CompleteSetup>("email").unwrap_or_default()}/>
                                    <Field id="setup-name".into() name="display_name" label="Your name (optional)" autocomplete="name" error=error value={nojs_value::<CompleteSetup>("display_name").unwrap_or_default()}/>
                                    <Field id="setup-password".into() name="password" label="Password" input_type="password" autocomplete="new-password" required=true error=error hint="At least 12 characters. A passphrase is easiest."/>
                                    <Field id="setup-password-confirm".into() name="password_confirm" label="Repeat the password" input_type="password" autocomplete="new-password" required=true error=error/>
                                    <Submit label="Create Admin account" busy_label="Creating…" pending=actions.setup.pending().into()/>
                                </ActionForm>
                            }
                            .into_any(),
                        }
                    })
                    }}
                </Suspense>
            </div>
        </main>
    }
}
