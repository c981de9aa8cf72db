//! The second step of signing in, for people with an authenticator app: the password was
//! right, now the code. The pending sign-in lives in the session for five minutes.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{get_pending_sign_in, safe_next};
use crate::components::form::{action_error, Field, FormError, Submit};
use crate::components::layout::{AuthActions, ErrorPanel, Loading, UserResource};
use crate::components::pagination::encode;

#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let user = expect_context::<UserResource>();
    let query = use_query_map();
    let next = move || query.read_untracked().get("next").unwrap_or_default();
    let error = action_error(actions.second_factor);
    let pending = Resource::new(|| (), |_| get_pending_sign_in());
    view! {
        <Title text="Two-step sign-in · Keyward"/>
        <main id="main" class="auth-page">
            <div class="auth-card">
                <h1>"Two-step sign-in"</h1>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        if let Ok(Some(_)) = user.await {
                            return view! { <Redirect path=safe_next(Some(&next()))/> }.into_any();
                        }
                        match pending.await {
                            Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                            Ok(None) => {
                                let again = if next().is_empty() {
                                    "/login".to_string()
                                } else {
                                    format!("/login?next={}", encode(&next()))
                                };
                                view! {
                                    <div class="alert alert-info" role="status">
                                        <p>"This sign-in has expired or was never started. Sign in again with your password."</p>
                                    </div>
                                    <a class="btn btn-primary" href=again>"Sign in"</a>
                                }
                                .into_any()
                            }
                            Ok(Some(p)) => view! {
                                <p>"Signing in as " <strong>{p.email}</strong> "."</p>
                                <ActionForm action=actions.second_factor attr:class="stack">
                                    <FormError error=error fields=&["code"]/>
                                    <input type="hidden" name="next" value=next()/>
                                    <Field
                                        id="second-factor-code".into()
                                        name="code"
                                        label="Code"
                                        hint="The 6-digit code your authenticator app shows now, or one of your recovery codes."
                                        autocomplete="one-time-code"
                                        required=true
                                        autofocus=true
                                        maxlength=32
                                        error=error
                                    />
                                    <Submit label="Verify" busy_label="Verifying…" pending=actions.second_factor.pending().into()/>
                                </ActionForm>
                                <p class="muted small">
                                    "Lost your phone and your recovery codes? Ask an Admin to reset your second factor, then sign in with your password alone. "
                                    <a href="/login">"Use another account"</a>
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
