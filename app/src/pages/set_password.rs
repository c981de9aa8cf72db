use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::password_link;
use crate::components::form::{action_error, Field, FormError, Submit};
use crate::components::layout::{AuthActions, ErrorPanel, Loading};

/// `/set-password?code=…`: a one-time link from an Admin (invitation or reset).
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let link = Resource::new(code, password_link);
    let error = action_error(actions.set_password);
    view! {
        <Title text="Set your password · Keyward"/>
        <main id="main" class="auth-page">
            <div class="auth-card">
                <h1>"Set your password"</h1>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || {
                        let code_now = code();
                        Suspend::new(async move {
                        match link.await {
                            Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                            Ok(None) => view! {
                                <div class="alert alert-error" role="alert">
                                    "This link has expired or was already used. Ask an Admin for a new one."
                                </div>
                            }
                            .into_any(),
                            Ok(Some(email)) => view! {
                                <p>"Choose a password for " <strong>{email}</strong> "."</p>
                                <ActionForm action=actions.set_password attr:class="stack">
                                    <FormError error=error fields=&["password", "password_confirm"]/>
                                    <input type="hidden" name="code" value=code_now.clone()/>
                                    <Field id="setpw-password".into() name="password" label="New password" input_type="password" autocomplete="new-password" required=true autofocus=true error=error hint="At least 12 characters. A passphrase is easiest."/>
                                    <Field id="setpw-password-confirm".into() name="password_confirm" label="Repeat the password" input_type="password" autocomplete="new-password" required=true error=error/>
                                    <Submit label="Set password and sign in" busy_label="Saving…" pending=actions.set_password.pending().into()/>
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
