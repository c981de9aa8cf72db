use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::service_accounts::{list_service_accounts, CreateServiceAccount};
use crate::components::badges::RoleBadge;
use crate::components::form::{
    action_error, nojs_value, Field, FormError, Select, Submit, TextArea,
};
use crate::components::layout::{Empty, ErrorPanel, Loading, PageHeader, WithMe};
use crate::components::pagination::{encode, Pagination};
use crate::components::time::{MaybeTime, RelTime};
use crate::domain::limits::{DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS};
use crate::domain::{policy, Role};
use crate::model::CurrentUser;

#[component]
pub fn ServiceAccountsPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let create = ServerAction::<CreateServiceAccount>::new();
    let accounts = Resource::new(
        move || (q(), page(), create.version().get()),
        |(q, page, _)| list_service_accounts(Some(q), Some(page)),
    );
    view! {
        <PageHeader title="Service accounts".into() subtitle="Non-human identities for automation; each has a role and its own tokens.".into()/>
        <WithMe children=move |me: CurrentUser| view! { <CreateAccountPanel me=me create=create/> }/>
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">

            <label for="sa-search" class="sr-only">"Search service accounts"</label>
            <input id="sa-search" type="search" name="q" placeholder="Search by name or description" value=q/>
            <button type="submit" class="btn">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <Loading what="service accounts"/> }>
            {move || {
                let q_now = q();
                Suspend::new(async move {
                match accounts.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) if page.items.is_empty() => {
                        let searching = !q_now.is_empty();
                        view! {
                            <Empty title=if searching { "No service accounts match your search" } else { "No service accounts yet" }>
                                {if searching {
                                    view! { <p><a href="/service-accounts">"Clear the search"</a></p> }.into_any()
                                } else {
                                    view! { <p>"Create one for each system that needs API access, such as a CI pipeline or a deploy bot (Power Users and Admins can)."</p> }.into_any()
                                }}
                            </Empty>
                        }
                        .into_any()
                    }
                    Ok(page) => {
                        let (current, pages, total) = (page.page, page.pages(), page.total);
                        view! {
                            <div class="table-wrap">
                                <table class="data-table">
                                    <caption class="sr-only">"Service accounts"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Live tokens"</th>
                                            <th scope="col">"Last activity"</th>
                                            <th scope="col">"Created"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|a| view! {
                                            <tr>
                                                <td>
                                                    <a href=format!("/service-accounts/{}", a.id)><strong>{a.name.clone()}</strong></a>
                                                    {(!a.description.is_empty()).then(|| view! { <div class="muted small">{a.description.clone()}</div> })}
                                                </td>
                                                <td><RoleBadge role=a.role/></td>
                                                <td>{if a.disabled_at.is_some() {
                                                    view! { <span class="badge status-owner_disabled">"Disabled"</span> }.into_any()
                                                } else {
                                                    view! { <span class="badge status-active">"Active"</span> }.into_any()
                                                }}</td>
                                                <td>{a.live_tokens}</td>
                                                <td><MaybeTime ts=a.last_used_at none="Never used"/></td>
                                                <td><RelTime ts=a.created_at/><div class="muted small">{format!("by {}", a.created_by)}</div></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination
                                page=current
                                pages=pages
                                total=total
                                href=Callback::new(move |n: i64| {
                                    if q_now.is_empty() {
                                        format!("/service-accounts?page={n}")
                                    } else {
                                        format!("/service-accounts?q={}&page={n}", encode(&q_now))
                                    }
                                })
                            />
                        }
                        .into_any()
                    }
                }
            })
            }}
        </Transition>
    }
}

#[component]
fn CreateAccountPanel(
    me: CurrentUser,
    create: ServerAction<CreateServiceAccount>,
) -> impl IntoView {
    let error = action_error(create);
    let roles: Vec<(String, String)> = me
        .role
        .assignable()
        .map(|r| (r.as_str().to_string(), r.label().to_string()))
        .collect();
    let open_form = error.with_untracked(Option::is_some);
    policy::can_create_service_accounts(me.role).then(|| {
        view! {
            <details class="panel create-panel" open=open_form>
                <summary class="btn btn-primary">"New service account"</summary>
                <ActionForm action=create attr:class="stack">
                    <FormError error=error fields=&["name", "description", "role"]/>
                    <Field
                        id="sa-create-name".into()
                        name="name"
                        label="Name"
                        error=error
                        required=true
                        maxlength=NAME_MAX_CHARS
                        autocomplete="off"
                        value={nojs_value::<CreateServiceAccount>("name").unwrap_or_default()}
                        hint="3–64 lowercase letters, digits and underscores; unique. It cannot be changed later."
                    />
                    <TextArea
                        id="sa-create-description".into()
                        name="description"
                        label="Description (optional)"
                        error=error
                        maxlength=DESCRIPTION_MAX_CHARS
                        value={nojs_value::<CreateServiceAccount>("description").unwrap_or_default()}
                    />
                    <Select
                        id="sa-create-role".into()
                        name="role"
                        label="Role"
                        error=error
                        options=roles.clone()
                        selected=Role::Viewer.as_str()
                        hint="Its tokens act with this role. You can assign roles up to your own."
                    />
                    <Submit label="Create service account" busy_label="Creating…" pending=create.pending().into()/>
                </ActionForm>
            </details>
        }
    })
}
