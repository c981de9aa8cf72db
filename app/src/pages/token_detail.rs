//! One token: what it is, how it is used (a 90-day chart and the latest client addresses)
//! and what happened to it (its audit records).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::tokens::get_token;
use crate::components::badges::{KindIcon, RoleBadge, StatusBadge};
use crate::components::layout::{Empty, ErrorPanel, Loading, PageHeader};
use crate::components::time::{Expiry, MaybeTime, RelTime};
use crate::components::usage_chart::UsageChart;
use crate::model::{AuditEventView, ClientIpView, TokenDetail};

#[component]
pub fn TokenDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let detail = Resource::new(id, get_token);
    view! {
        <Transition fallback=|| view! { <Loading what="token"/> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <TokenDetailView detail=d/> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TokenDetailView(detail: TokenDetail) -> impl IntoView {
    let TokenDetail {
        token,
        usage,
        client_ips,
        audit,
        stale_revokes_at,
    } = detail;
    let owner_href = token.owner.href();
    let used = usage.total() > 0;
    view! {
        <PageHeader title=token.name.clone() subtitle=if token.description.is_empty() { "No description.".to_string() } else { token.description.clone() }>
            <StatusBadge status=token.status/>
        </PageHeader>
        {stale_revokes_at.map(|at| view! {
            <p class="alert alert-warning" role="status">
                "Unused for a long time: the stale-token policy revokes this token on "
                {crate::domain::timefmt::date(at)}" (UTC) unless it is used before."
            </p>
        })}
        <dl class="facts">
            <div><dt>"Token"</dt><dd><code class="prefix">{format!("{}…", token.display_prefix)}</code></dd></div>
            <div>
                <dt>"Owner"</dt>
                <dd><KindIcon kind=token.kind/>" "<a href=owner_href>{token.owner.name.clone()}</a>" "<RoleBadge role=token.role/></dd>
            </div>
            <div><dt>"Expires"</dt><dd><Expiry expires_at=token.expires_at/></dd></div>
            <div><dt>"Last used"</dt><dd><MaybeTime ts=token.last_used_at none="Never"/></dd></div>
            <div><dt>"Created"</dt><dd><RelTime ts=token.created_at/>{format!(" by {}", token.created_by)}</dd></div>
        </dl>
        <section class="token-section" aria-labelledby="usage-heading">
            <h2 id="usage-heading">"Requests, last 90 days"</h2>
            {if used {
                view! { <UsageChart series=usage/> }.into_any()
            } else {
                view! {
                    <Empty title="No requests recorded yet">
                        <p>"Requests made with this token show here, per day, within a minute or so."</p>
                    </Empty>
                }
                .into_any()
            }}
        </section>
        <section class="token-section" aria-labelledby="ips-heading">
            <h2 id="ips-heading">"Recent client addresses"</h2>
            <ClientIps ips=client_ips/>
        </section>
        {audit.map(|events| view! {
            <section class="token-section" aria-labelledby="audit-heading">
                <h2 id="audit-heading">"Audit trail"</h2>
                <AuditTrail events=events/>
            </section>
        })}
    }
}

#[component]
fn ClientIps(ips: Vec<ClientIpView>) -> impl IntoView {
    if ips.is_empty() {
        return view! { <p class="muted">"No client addresses recorded yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data-table">
                <caption class="sr-only">"The latest distinct client addresses"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"First seen"</th>
                        <th scope="col">"User agent"</th>
                    </tr>
                </thead>
                <tbody>
                    {ips.into_iter().map(|ip| view! {
                        <tr>
                            <td><code>{ip.ip}</code></td>
                            <td><RelTime ts=ip.last_seen/></td>
                            <td><RelTime ts=ip.first_seen/></td>
                            <td>{ip.user_agent.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn AuditTrail(events: Vec<AuditEventView>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted">"No audit records for this token."</p> }.into_any();
    }
    view! {
        <p class="muted small">"The newest 50 records; API use is summed up in the chart."</p>
        <div class="table-wrap">
            <table class="data-table">
                <caption class="sr-only">"Audit records about this token"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {events.into_iter().map(|e| view! {
                        <tr>
                            <td><RelTime ts=e.at/></td>
                            <td>{e.actor}</td>
                            <td><code>{e.action}</code></td>
                            <td>{e.ip.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
