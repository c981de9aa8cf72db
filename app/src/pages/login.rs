use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{get_setup_state, safe_next, Login};
use crate::components::form::{action_error, nojs_value, Field, FormError, Submit};
use crate::components::layout::{AuthActions, Loading, UserResource};

#[component]
pub fn LoginPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let user = expect_context::<UserResource>();
    let query = use_query_map();
    let next = move || query.read_untracked().get("next").unwrap_or_default();
    let error = action_error(actions.login);
    let setup = Resource::new(|| (), |_| get_setup_state(String::new()));
    view! {
        <Title text="Sign in · Keyward"/>
        <main id="main" class="auth-page">
            <div class="auth-card">
                <h1>"Sign in to Keyward"</h1>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        if let Ok(Some(_)) = user.await {
                            return view! { <Redirect path=safe_next(Some(&next()))/> }.into_any();
                        }
                        let needs_setup = setup.await.map(|s| s.needs_setup).unwrap_or(false);
                        view! {
                            {needs_setup.then(|| view! {
                                <div class="alert alert-info" role="status">
                                    <p>"Keyward has no users yet."</p>
                                    <p>
                                        "Open the one-time setup link printed in the server's log, or create the first Admin on the server with "
                                        <code>"keyward user create --admin --email you@example.com"</code>"."
                                    </p>
                                </div>
                            })}
                            <ActionForm action=actions.login attr:class="stack">
                                <FormError error=error fields=&["email", "password"]/>
                                <input type="hidden" name="next" value=next()/>
                                <Field
                                    id="login-email".into()
                                    name="email"
                                    label="E-mail address"
                                    input_type="email"
                                    autocomplete="username"
                                    required=true
                                    autofocus=true
                                    error=error
                                    value={nojs_value::<Login>("email").unwrap_or_default()}
                                />
                                <Field
                                    id="login-password".into()
                                    name="password"
                                    label="Password"
                                    input_type="password"
                                    autocomplete="current-password"
                                    required=true
                                    error=error
                                />
                                <Submit label="Sign in" busy_label="Signing in…" pending=actions.login.pending().into()/>
                            </ActionForm>
                            <p class="muted small">"Forgot your password? Ask an Admin for a new set-password link."</p>
                        }
                        .into_any()
                    })}
                </Suspense>
            </div>
        </main>
    }
}
