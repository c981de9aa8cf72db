use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{audit_actions, list_audit};
use crate::components::layout::{Empty, ErrorPanel, Loading, PageHeader};
use crate::components::pagination::{encode, Pagination};
use crate::components::time::RelTime;

/// Every change: who, what, target, when, from which IP. Filters live in the URL.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let events = Resource::new(
        move || (get("actor"), get("action"), get("target"), page()),
        |(actor, action, target, page)| {
            list_audit(Some(actor), Some(action), Some(target), Some(page))
        },
    );
    let actions = Resource::new(|| (), |_| audit_actions());
    view! {
        <PageHeader title="Audit log".into() subtitle="Every change, newest first.".into()/>
        <Transition fallback=|| view! { <Loading what="audit log"/> }>
            {move || {
                let (actor, action, target) = (get("actor"), get("action"), get("target"));
                Suspend::new(async move {
                let action_names = actions.await.unwrap_or_default();
                let current_action = action.clone();
                let base = format!("/audit?actor={}&action={}&target={}", encode(&actor), encode(&action), encode(&target));
                let (actor_value, target_value) = (actor.clone(), target.clone());
                let filters = view! {
                    <Form method="GET" action="" attr:class="toolbar filters" attr:role="search">
                        <div class="field inline">
                            <label for="audit-actor">"Actor"</label>
                            <input id="audit-actor" type="search" name="actor" value=actor_value placeholder="e-mail or account"/>
                        </div>
                        <div class="field inline">
                            <label for="audit-action">"Action"</label>
                            <select id="audit-action" name="action">
                                <option value="" selected=current_action.is_empty()>"Any action"</option>
                                {action_names.into_iter().map(|a| {
                                    let selected = a == current_action;
                                    view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        <div class="field inline">
                            <label for="audit-target">"Target"</label>
                            <input id="audit-target" type="search" name="target" value=target_value placeholder="name, e-mail or token prefix"/>
                        </div>
                        <button type="submit" class="btn">"Filter"</button>
                        <a class="btn btn-ghost" href="/audit">"Clear"</a>
                    </Form>
                };
                let body = match events.await {
                    // Not allowed (or failed): the message alone, no filters for a log it cannot read.
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! {
                        <Empty title="No matching events"><p>"Try fewer filters."</p></Empty>
                    }
                    .into_any(),
                    Ok(p) => {
                        let (current, pages, total) = (p.page, p.pages(), p.total);
                        view! {
                            <div class="table-wrap">
                                <table class="data-table">
                                    <caption class="sr-only">"Audit events"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Action"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"IP"</th>
                                            <th scope="col">"Details"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {p.items.into_iter().map(|e| view! {
                                            <tr>
                                                <td><RelTime ts=e.at/></td>
                                                <td>{e.actor.clone()}<div class="muted small">{e.actor_kind.clone()}</div></td>
                                                <td><code>{e.action.clone()}</code></td>
                                                <td>{e.target.clone()}<div class="muted small">{e.target_kind.clone()}</div></td>
                                                <td>{e.ip.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td><code class="details">{if e.details == "{}" { String::new() } else { e.details.clone() }}</code></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages=pages total=total href=Callback::new(move |n: i64| format!("{base}&page={n}"))/>
                        }
                        .into_any()
                    }
                };
                view! { {filters} {body} }.into_any()
            })
            }}
        </Transition>
    }
}
