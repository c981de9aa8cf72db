use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{audit_actions, list_audit};
use crate::components::layout::{Empty, ErrorPanel, Loading, PageHeader};
use crate::components::pagination::Pagination;
use crate::components::time::RelTime;
use crate::domain::audit_query::AuditQuery;

const KEYS: [&str; 6] = ["actor", "action", "target", "from", "to", "page"];

/// A date filter field, with its error (if the date is not one) right by it.
#[component]
fn DateField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let invalid = if error.is_some() { "true" } else { "false" };
    let described = error.as_ref().map(|_| error_id.clone());
    view! {
        <div class="field inline">
            <label for=id>{label}</label>
            <input id=id type="date" name=name value=value aria-invalid=invalid aria-describedby=described/>
            {error.map(|m| view! { <p class="field-error" id=error_id>{m}</p> })}
        </div>
    }
}

/// Every change: who, what, target, when, from which IP, in which request. Filters live in the
/// URL; the export link carries them.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    // The view as asked for (shown back in the form, errors and all) …
    let asked = Memo::new(move |_| {
        let map = query.read();
        let values: Vec<(&str, String)> = KEYS
            .iter()
            .map(|k| (*k, map.get(k).unwrap_or_default()))
            .collect();
        AuditQuery::from_pairs(values.iter().map(|(k, v)| (*k, v.as_str())))
    });
    // … and the view listed: a date that is not one changes nothing.
    let shown = Memo::new(move |_| asked.get().without_bad_dates());
    let events = Resource::new(
        move || shown.get(),
        |q| {
            list_audit(
                Some(q.actor),
                Some(q.action),
                Some(q.target),
                Some(q.from),
                Some(q.to),
                Some(q.page),
            )
        },
    );
    let actions = Resource::new(|| (), |_| audit_actions());
    view! {
        <PageHeader title="Audit log".into() subtitle="Every change, newest first. Days are UTC.".into()/>
        <Transition fallback=|| view! { <Loading what="audit log"/> }>
            {move || {
                let (q, shown) = (asked.get(), shown.get());
                Suspend::new(async move {
                let action_names = actions.await.unwrap_or_default();
                let current_action = q.action.clone();
                let export = format!("/audit/export.csv?{}", shown.without_page().to_query_string());
                let filters = view! {
                    <Form method="GET" action="" attr:class="toolbar filters" attr:role="search">
                        <div class="field inline">
                            <label for="audit-actor">"Actor"</label>
                            <input id="audit-actor" type="search" name="actor" value=q.actor.clone() placeholder="e-mail or account"/>
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
                            <input id="audit-target" type="search" name="target" value=q.target.clone() placeholder="name, e-mail or token prefix"/>
                        </div>
                        <DateField id="audit-from" name="from" label="From" value=q.from.clone() error=q.date_error("from")/>
                        <DateField id="audit-to" name="to" label="To" value=q.to.clone() error=q.date_error("to")/>
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
                            <div class="table-tools">
                                <a class="btn" href=export download>"Export CSV"</a>
                            </div>
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
                                                <td>
                                                    <code class="details">{if e.details == "{}" { String::new() } else { e.details.clone() }}</code>
                                                    {e.request_id.clone().map(|id| view! {
                                                        <div class="muted small request-id">"request " <code>{id}</code></div>
                                                    })}
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=current pages=pages total=total href=Callback::new(move |n: i64| {
                                format!("/audit?{}", AuditQuery { page: n, ..shown.clone() }.to_query_string())
                            })/>
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
