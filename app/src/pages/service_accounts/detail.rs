use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::service_accounts::{
    get_service_account, DeleteServiceAccount, SetServiceAccountEnabled, UpdateServiceAccount,
};
use crate::api::settings::get_settings;
use crate::api::tokens::{list_account_tokens, CreateAccountToken};
use crate::components::badges::RoleBadge;
use crate::components::confirm::Confirm;
use crate::components::form::{
    action_error, action_ok, nojs_value, Field, FormError, Select, Submit, TextArea,
};
use crate::components::layout::{
    me as signed_in, user_resource, Empty, ErrorPanel, Loading, PageHeader,
};
use crate::components::reveal::{Reveal, SecretReveal};
use crate::components::time::{MaybeTime, RelTime};
use crate::components::tokens::{TokenActions, TokenFields, TokenTable};
use crate::domain::limits::{DESCRIPTION_MAX_CHARS, MAX_LIVE_TOKENS_PER_OWNER};
use crate::domain::{policy, Role};
use crate::model::ServiceAccountView;

#[component]
pub fn ServiceAccountPage() -> impl IntoView {
    let user = user_resource();
    let params = use_params_map();
    let location = use_location();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let update = ServerAction::<UpdateServiceAccount>::new();
    let enable = ServerAction::<SetServiceAccountEnabled>::new();
    let delete = ServerAction::<DeleteServiceAccount>::new();
    let create = ServerAction::<CreateAccountToken>::new();
    let token_actions = TokenActions::new();
    let account = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                enable.version().get(),
                create.version().get(),
                token_actions.version(),
            )
        },
        |(id, ..)| get_service_account(id),
    );
    let tokens = Resource::new(
        move || {
            (
                id(),
                create.version().get(),
                enable.version().get(),
                update.version().get(),
                token_actions.version(),
            )
        },
        |(id, ..)| list_account_tokens(id),
    );
    let settings = Resource::new(|| (), |_| get_settings());

    let created = action_ok(create);
    let rotated = action_ok(token_actions.rotate);
    let reveal = Signal::derive(move || {
        if let Some(t) = created.get() {
            return Some(Reveal {
                title: "Copy your new token now".into(),
                subject: format!(
                    "Token “{}” of service account “{}”, acting as {}.",
                    t.token.name,
                    t.token.owner.name,
                    t.token.role.label()
                ),
                secret: t.secret,
                noun: "token",
            });
        }
        rotated.get().map(|t| Reveal {
            title: "Copy the new secret now".into(),
            subject: format!(
                "New secret for token “{}” of “{}”.",
                t.token.name, t.token.owner.name
            ),
            secret: t.secret,
            noun: "token",
        })
    });
    let close_reveal = Callback::new(move |_| {
        create.value().set(None);
        token_actions.rotate.value().set(None);
    });

    view! {
        // First in the page: without JavaScript it is the top of the page rendered once.
        <SecretReveal reveal=reveal on_close=close_reveal close_href=location.pathname.get_untracked()/>
        <Transition fallback=|| view! { <Loading what="service account"/> }>
            {move || {
                Suspend::new(async move {
                    let me = signed_in(user).await;
                    let account = match account.await {
                        Ok(a) => a,
                        Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                    };
                    let tokens = tokens.await;
                    let settings = settings.await.ok();
                let max_days = settings.as_ref().and_then(|s| s.max_token_lifetime_days);
                let default_rate = settings.as_ref().map(|s| s.default_rate_limit_per_minute).unwrap_or(crate::domain::limits::DEFAULT_RATE_LIMIT_PER_MINUTE);
                    let can_manage = policy::can_manage_service_account(me.role, account.role);
                    let is_admin = me.role == Role::Admin;
                    view! {
                        <AccountHeader account=account.clone() can_manage=can_manage/>
                        {can_manage.then(|| view! {
                            <AccountActions account=account.clone() me_role=me.role update=update enable=enable delete=delete/>
                        })}
                        {(!can_manage && me.role >= Role::PowerUser).then(|| view! {
                            <p class="alert alert-info">"This account's role is above yours: only an Admin can change it or its tokens."</p>
                        })}
                        <section class="section" aria-labelledby="tokens-heading">
                            <div class="section-header">
                                <h2 id="tokens-heading">"Tokens"</h2>
                                <span class="muted">{format!("{} of {} live tokens", account.live_tokens, MAX_LIVE_TOKENS_PER_OWNER)}</span>
                            </div>
                            {account.disabled_at.is_some().then(|| view! {
                                <p class="alert alert-warning">"This account is disabled: none of its tokens work until it is enabled again."</p>
                            })}
                            {(can_manage && account.disabled_at.is_none()).then(|| view! {
                                <NewTokenForm account_id=account.id create=create max_days=max_days default_rate=default_rate/>
                            })}
                            {match tokens {
                                Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                                Ok(list) if list.is_empty() => view! {
                                    <Empty title="No tokens yet">
                                        <p>{if can_manage { "Create a token to let this account call the API." } else { "This account has no tokens." }}</p>
                                    </Empty>
                                }
                                .into_any(),
                                Ok(list) => view! {
                                    <TokenTable tokens=list actions=token_actions can_manage=can_manage can_restore=is_admin/>
                                }
                                .into_any(),
                            }}
                        </section>
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}

#[component]
fn AccountHeader(account: ServiceAccountView, can_manage: bool) -> impl IntoView {
    let _ = can_manage;
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/service-accounts">"Service accounts"</a>" / "</nav>
        <PageHeader
            title=account.name.clone()
            subtitle=if account.description.is_empty() { "No description.".to_string() } else { account.description.clone() }
        >
            <RoleBadge role=account.role/>
            {if account.disabled_at.is_some() {
                view! { <span class="badge status-owner_disabled">"Disabled"</span> }.into_any()
            } else {
                view! { <span class="badge status-active">"Active"</span> }.into_any()
            }}
        </PageHeader>
        <dl class="facts">
            <div><dt>"Role"</dt><dd>{account.role.label()}" — "{account.role.describe()}</dd></div>
            <div><dt>"Created"</dt><dd><RelTime ts=account.created_at/>{format!(" by {}", account.created_by)}</dd></div>
            <div><dt>"Last activity"</dt><dd><MaybeTime ts=account.last_used_at none="Never used"/></dd></div>
            {account.can_introspect.then(|| view! { <div><dt>"Introspection"</dt><dd>"May check other tokens through the introspection API."</dd></div> })}
        </dl>
    }
}

#[component]
fn AccountActions(
    account: ServiceAccountView,
    me_role: Role,
    update: ServerAction<UpdateServiceAccount>,
    enable: ServerAction<SetServiceAccountEnabled>,
    delete: ServerAction<DeleteServiceAccount>,
) -> impl IntoView {
    let update_error = action_error(update);
    let enable_error = action_error(enable);
    let delete_error = action_error(delete);
    let roles: Vec<(String, String)> = me_role
        .assignable()
        .map(|r| (r.as_str().to_string(), r.label().to_string()))
        .collect();
    let id = account.id;
    let (name_disable, name_delete) = (account.name.clone(), account.name.clone());
    let disabled = account.disabled_at.is_some();
    let open_edit = update_error.with_untracked(Option::is_some);
    let open_delete = delete_error.with_untracked(Option::is_some);
    view! {
        <FormError error=enable_error/>
        <div class="actions-bar">
            <details class="inline-panel" open=open_edit>
                <summary class="btn btn-small">"Edit…"</summary>
                <ActionForm action=update attr:class="stack panel">
                    <FormError error=update_error fields=&["description", "role"]/>
                    <input type="hidden" name="id" value=id/>
                    <TextArea
                        id="sa-edit-description".into()
                        name="description"
                        label="Description"
                        error=update_error
                        maxlength=DESCRIPTION_MAX_CHARS
                        value={nojs_value::<UpdateServiceAccount>("description").unwrap_or(account.description.clone())}
                    />
                    <Select
                        id="sa-edit-role".into()
                        name="role"
                        label="Role"
                        error=update_error
                        options=roles
                        selected=account.role.as_str()
                        hint="Every token of this account acts with the new role at once."
                    />
                    {(me_role == Role::Admin).then(|| view! {
                        <input type="hidden" name="introspect_shown" value="1"/>
                        <div class="field checkbox">
                            <input type="checkbox" id="sa-edit-introspect" name="can_introspect" value="true" checked=account.can_introspect/>
                            <label for="sa-edit-introspect">"May introspect other tokens (POST /api/v1/introspect)"</label>
                        </div>
                    })}
                    <Submit label="Save changes" busy_label="Saving…" pending=update.pending().into()/>
                </ActionForm>
            </details>
            {if disabled {
                view! {
                    <ActionForm action=enable attr:class="inline-form">
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="enabled" value="true"/>
                        <button type="submit" class="btn">"Enable"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! {
                    <Confirm label="Disable…".into()>
                        <ActionForm action=enable>
                            <input type="hidden" name="id" value=id/>
                            <input type="hidden" name="enabled" value="false"/>
                            <p>"Disable " <strong>{name_disable.clone()}</strong> "? Its tokens stop working at once. Nothing is deleted; you can enable it again."</p>
                            <button type="submit" class="btn btn-danger btn-small">"Yes, disable"</button>
                        </ActionForm>
                    </Confirm>
                }
                .into_any()
            }}
            <details class="confirm" open=open_delete>
                <summary class="btn btn-small btn-danger-outline">"Delete…"</summary>
                <div class="confirm-panel">
                    <ActionForm action=delete attr:class="stack">
                        <input type="hidden" name="id" value=id/>
                        <p>"Deleting " <strong>{name_delete}</strong> " revokes all its tokens for good. The audit log keeps the record."</p>
                        <Field
                            id="sa-delete-confirm".into()
                            name="confirm_name"
                            label="Type the account name to confirm"
                            error=delete_error
                            required=true
                            autocomplete="off"
                        />
                        <FormError error=delete_error fields=&["confirm_name"]/>
                        <button type="submit" class="btn btn-danger btn-small">"Delete service account"</button>
                    </ActionForm>
                </div>
            </details>
        </div>
    }
}

#[component]
fn NewTokenForm(
    account_id: i64,
    create: ServerAction<CreateAccountToken>,
    max_days: Option<i64>,
    default_rate: i64,
) -> impl IntoView {
    let error = action_error(create);
    let open = error.with_untracked(Option::is_some);
    view! {
        <details class="panel create-panel" open=open>
            <summary class="btn btn-primary">"New token"</summary>
            <ActionForm action=create attr:class="stack">
                <FormError error=error fields=&["name", "description", "expires_in", "expires_on", "sliding", "allowed_cidrs", "rate_limit_per_minute"]/>
                <input type="hidden" name="account_id" value=account_id/>
                <TokenFields
                    prefix="sa-token"
                    error=error
                    max_days=max_days
                    default_rate=default_rate
                    name={nojs_value::<CreateAccountToken>("name").unwrap_or_default()}
                    description={nojs_value::<CreateAccountToken>("description").unwrap_or_default()}
                />
                <Submit label="Create token" busy_label="Creating…" pending=create.pending().into()/>
            </ActionForm>
        </details>
    }
}
