use leptos::prelude::*;

use crate::api::settings::get_settings;
use crate::api::tokens::{list_my_tokens, CreateMyToken};
use crate::components::form::{action_error, action_ok, nojs_value, FormError, Submit};
use crate::components::layout::{
    me as signed_in, user_resource, Empty, ErrorPanel, Loading, PageHeader,
};
use crate::components::reveal::{Reveal, SecretReveal};
use crate::components::tokens::{TokenActions, TokenFields, TokenTable};
use crate::domain::limits::MAX_LIVE_TOKENS_PER_OWNER;
use crate::domain::Role;

/// Personal tokens: they act as you, with your current role.
#[component]
pub fn MyTokensPage() -> impl IntoView {
    let user = user_resource();
    let create = ServerAction::<CreateMyToken>::new();
    let actions = TokenActions::new();
    let tokens = Resource::new(
        move || (create.version().get(), actions.version()),
        |_| list_my_tokens(),
    );
    let settings = Resource::new(|| (), |_| get_settings());
    let error = action_error(create);
    let created = action_ok(create);
    let rotated = action_ok(actions.rotate);
    let reveal = Signal::derive(move || {
        created
            .get()
            .map(|t| Reveal {
                title: "Copy your new token now".into(),
                subject: format!(
                    "Personal token “{}”: it acts as you, with your role ({}).",
                    t.token.name,
                    t.token.role.label()
                ),
                secret: t.secret,
                noun: "token",
            })
            .or_else(|| {
                rotated.get().map(|t| Reveal {
                    title: "Copy the new secret now".into(),
                    subject: format!("New secret for your token “{}”.", t.token.name),
                    secret: t.secret,
                    noun: "token",
                })
            })
    });
    let close = Callback::new(move |_| {
        create.value().set(None);
        actions.rotate.value().set(None);
    });
    let open = error.with_untracked(Option::is_some);
    view! {
        // First in the page: without JavaScript it is the top of the page rendered once.
        <SecretReveal reveal=reveal on_close=close close_href="/my-tokens".to_string()/>
        <PageHeader
            title="My tokens".into()
            subtitle=format!("Personal tokens act as you, with your current role. At most {MAX_LIVE_TOKENS_PER_OWNER} live tokens.")
        />
        <Transition fallback=|| view! { <Loading what="tokens"/> }>
            {move || Suspend::new(async move {
                let is_admin = signed_in(user).await.role == Role::Admin;
                let settings = settings.await.ok();
                let max_days = settings.as_ref().and_then(|s| s.max_token_lifetime_days);
                let default_rate = settings.as_ref().map(|s| s.default_rate_limit_per_minute).unwrap_or(crate::domain::limits::DEFAULT_RATE_LIMIT_PER_MINUTE);
                let list = tokens.await;
                view! {
                    <details class="panel create-panel" open=open>
                        <summary class="btn btn-primary">"New personal token"</summary>
                        <ActionForm action=create attr:class="stack">
                            <FormError error=error fields=&["name", "description", "expires_in", "expires_on", "sliding", "allowed_cidrs", "rate_limit_per_minute"]/>
                            <TokenFields
                                prefix="my-token"
                                error=error
                                max_days=max_days
                                default_rate=default_rate
                                name={nojs_value::<CreateMyToken>("name").unwrap_or_default()}
                                description={nojs_value::<CreateMyToken>("description").unwrap_or_default()}
                            />
                            <Submit label="Create token" busy_label="Creating…" pending=create.pending().into()/>
                        </ActionForm>
                    </details>
                    {match list {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <Empty title="You have no personal tokens">
                                <p>"Create one to call Keyward's API as yourself, for example from a script."</p>
                            </Empty>
                        }
                        .into_any(),
                        Ok(list) => view! { <TokenTable tokens=list actions=actions can_manage=true can_restore=is_admin/> }.into_any(),
                    }}
                }
                .into_any()
            })}
        </Transition>
    }
}
