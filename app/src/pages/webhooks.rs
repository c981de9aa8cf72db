//! Settings → Webhooks: endpoints (create, enable/disable, delete, send a test event) and the
//! delivery log of each, with "redeliver" on a failed attempt. Admins only.

use leptos::prelude::*;

use crate::api::webhooks::{
    list_webhook_deliveries, list_webhooks, CreateWebhook, DeleteWebhook, RedeliverWebhook,
    SendWebhookTest, SetWebhookEnabled,
};
use crate::components::confirm::Confirm;
use crate::components::form::{action_error, action_ok, Field, FormError, Submit};
use crate::components::layout::{
    me as signed_in, user_resource, Empty, ErrorPanel, Loading, PageHeader,
};
use crate::components::reveal::{Reveal, SecretReveal};
use crate::components::time::{MaybeTime, RelTime};
use crate::domain::policy;
use crate::errors::AppError;
use crate::model::{EventState, WebhookDeliveryView, WebhookEndpointView};

#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateWebhook>,
    enable: ServerAction<SetWebhookEnabled>,
    delete: ServerAction<DeleteWebhook>,
    test: ServerAction<SendWebhookTest>,
    redeliver: ServerAction<RedeliverWebhook>,
}

impl Actions {
    fn version(&self) -> usize {
        self.create.version().get()
            + self.enable.version().get()
            + self.delete.version().get()
            + self.test.version().get()
            + self.redeliver.version().get()
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let user = user_resource();
    let actions = Actions {
        create: ServerAction::<CreateWebhook>::new(),
        enable: ServerAction::<SetWebhookEnabled>::new(),
        delete: ServerAction::<DeleteWebhook>::new(),
        test: ServerAction::<SendWebhookTest>::new(),
        redeliver: ServerAction::<RedeliverWebhook>::new(),
    };
    provide_context(actions);
    let endpoints = Resource::new(move || actions.version(), |_| list_webhooks());
    // Every endpoint's log in one resource made here, at the top of the page, not one per
    // endpoint inside the list's Suspend: a resource created during a Suspend's render could
    // hydrate out of step with the server's HTML (an intermittent hydration panic in release).
    let logs = Resource::new(
        move || actions.version(),
        |_| async move {
            let mut all = Vec::new();
            for e in list_webhooks().await? {
                all.push((e.id, list_webhook_deliveries(e.id).await?));
            }
            Ok::<_, AppError>(all)
        },
    );
    provide_context(DeliveryLogs(logs));
    let error = action_error(actions.create);
    let created = action_ok(actions.create);
    let reveal = Signal::derive(move || {
        created.get().map(|c| Reveal {
            title: "Copy the signing secret now".into(),
            subject: format!("Signing secret of the webhook endpoint {}.", c.endpoint.url),
            secret: c.secret,
            noun: "secret",
        })
    });
    let close_reveal = Callback::new(move |_| actions.create.value().set(None));
    let test_sent = action_ok(actions.test);
    view! {
        <SecretReveal reveal=reveal on_close=close_reveal close_href="/settings/webhooks".to_string()/>
        <PageHeader title="Webhooks".into() subtitle="Signed HTTP notifications of token events (Standard Webhooks).".into()/>
        <Transition fallback=|| view! { <Loading what="webhooks"/> }>
            {move || Suspend::new(async move {
                if !policy::can_manage_settings(signed_in(user).await.role) {
                    return view! { <ErrorPanel error=AppError::forbidden("Only Admins can manage webhooks.")/> }.into_any();
                }
                match endpoints.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(list) => view! {
                        {move || test_sent.get().map(|_| view! { <div class="alert alert-success" role="status">"Test event queued."</div> })}
                        // The endpoints' own buttons (enable, test, delete, redeliver) answer here.
                        <FormError error=action_error(actions.enable)/>
                        <FormError error=action_error(actions.test)/>
                        <FormError error=action_error(actions.delete)/>
                        <FormError error=action_error(actions.redeliver)/>
                        <EndpointList endpoints=list/>
                        <ActionForm action=actions.create attr:class="stack panel">
                            <h2>"Add an endpoint"</h2>
                            <FormError error=error fields=&["url", "events", "description"]/>
                            <Field id="webhook-url".into() name="url" label="URL" error=error required=true
                                input_type="url" placeholder="https://hooks.example.com/keyward"
                                hint="HTTPS only. Private, loopback and link-local addresses are refused."/>
                            <Field id="webhook-events".into() name="events" label="Events" error=error required=true
                                value="all"
                                hint="Comma-separated: token.created, token.rotated, token.revoked, token.leak_reported, token.expiring, token.expired, service_account.disabled, service_account.deleted; or all."/>
                            <Field id="webhook-description".into() name="description" label="Description" error=error/>
                            <Submit label="Add endpoint" busy_label="Adding…" pending=actions.create.pending().into()/>
                        </ActionForm>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EndpointList(endpoints: Vec<WebhookEndpointView>) -> impl IntoView {
    if endpoints.is_empty() {
        return view! {
            <Empty title="No webhook endpoints yet">
                <p>"Add one below to send token events to another system."</p>
            </Empty>
        }
        .into_any();
    }
    // Endpoints the housekeeping disabled keep their "failing since" mark; one switched off by
    // hand loses it.
    let auto_disabled = endpoints
        .iter()
        .filter(|e| !e.enabled && e.failing_since.is_some())
        .count();
    view! {
        {(auto_disabled > 0).then(|| view! {
            <p class="alert alert-warning" role="status">
                {if auto_disabled == 1 {
                    "1 endpoint was disabled because every delivery to it failed for 3 days.".to_string()
                } else {
                    format!("{auto_disabled} endpoints were disabled because every delivery to them failed for 3 days.")
                }}
                " Fix the receiver, then enable it again: events from while it was disabled are not sent."
            </p>
        })}
        <ul class="endpoint-list" aria-label="Webhook endpoints">
            {endpoints.into_iter().map(|e| view! { <Endpoint e=e/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Endpoint(e: WebhookEndpointView) -> impl IntoView {
    let actions = expect_context::<Actions>();
    let (id_enable, id_test, id_delete) = (e.id.to_string(), e.id.to_string(), e.id.to_string());
    let label = e.url.clone();
    view! {
        <li class="panel endpoint">
            <h3><code>{e.url.clone()}</code></h3>
            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
            <p>"Events: " {e.events.join(", ")}</p>
            <p>"Secret fingerprint: " <code title="The first 12 hex digits of the SHA-256 of the whole secret, whsec_ included">{e.secret_hint.clone()}</code> " · created " <RelTime ts=e.created_at/> " by " {e.created_by.clone()}</p>
            <p>
                {if e.enabled { "Enabled" } else { "Disabled" }}
                {e.failing_since.map(|t| view! { <span class="badge badge-danger">" failing since " <RelTime ts=t/></span> })}
            </p>
            <div class="actions-bar endpoint-actions">
                <ActionForm action=actions.enable>
                    <input type="hidden" name="id" value=id_enable/>
                    <input type="hidden" name="enabled" value=(!e.enabled).to_string()/>
                    <button type="submit" class="btn btn-small">{if e.enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                <ActionForm action=actions.test>
                    <input type="hidden" name="id" value=id_test/>
                    <button type="submit" class="btn btn-small">"Send test event"</button>
                </ActionForm>
                <Confirm label="Delete…".into() danger=true aria_label=format!("Delete {label}")>
                    <p>"Delete this endpoint, its queued events and its delivery log?"</p>
                    <ActionForm action=actions.delete>
                        <input type="hidden" name="id" value=id_delete/>
                        <button type="submit" class="btn btn-small btn-danger">"Delete endpoint"</button>
                    </ActionForm>
                </Confirm>
            </div>
            <details>
                <summary>"Deliveries"</summary>
                <Deliveries id=e.id/>
            </details>
        </li>
    }
}

/// Each endpoint's id with its delivery log.
type LogsByEndpoint = Vec<(i64, Vec<WebhookDeliveryView>)>;

/// The page's delivery logs (see `WebhooksPage`).
#[derive(Clone, Copy)]
struct DeliveryLogs(Resource<Result<LogsByEndpoint, AppError>>);

#[component]
fn Deliveries(id: i64) -> impl IntoView {
    let logs = expect_context::<DeliveryLogs>().0;
    view! {
        <Transition fallback=|| view! { <Loading what="deliveries"/> }>
            {move || Suspend::new(async move {
                let rows = match logs.await {
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(all) => all
                        .into_iter()
                        .find(|(endpoint, _)| *endpoint == id)
                        .map(|(_, rows)| rows)
                        .unwrap_or_default(),
                };
                if rows.is_empty() {
                    return view! { <p class="muted">"No deliveries yet."</p> }.into_any();
                }
                view! {
                    <table class="table" aria-label="Delivery log">
                        <thead><tr>
                            <th scope="col">"Time"</th><th scope="col">"Event"</th><th scope="col">"Result"</th>
                            <th scope="col">"Latency"</th><th scope="col">"Attempt"</th><th scope="col">"Next retry"</th><th scope="col">"Event now"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>{rows.into_iter().map(|d| view! { <DeliveryRow d=d/> }).collect_view()}</tbody>
                    </table>
                }
                .into_any()
            })}
        </Transition>
    }
}

#[component]
fn DeliveryRow(d: WebhookDeliveryView) -> impl IntoView {
    let actions = expect_context::<Actions>();
    // Offered while the event is not delivered: "Redeliver" once Keyward gave up, "Retry now"
    // while it waits for its next attempt. A later attempt that succeeded hides both.
    let again = match d.event_state {
        EventState::Delivered => None,
        EventState::GaveUp => Some("Redeliver"),
        EventState::Retrying => Some("Retry now"),
    };
    let result = match (d.status_code, d.error.clone()) {
        (Some(code), _) => code.to_string(),
        (None, Some(e)) => e,
        (None, None) => "—".into(),
    };
    view! {
        <tr>
            <td><RelTime ts=d.at/></td>
            <td><code>{d.event_type.clone()}</code></td>
            <td>{result}</td>
            <td>{format!("{} ms", d.latency_ms)}</td>
            <td>{d.attempt}</td>
            <td><MaybeTime ts=d.next_retry_at none="—"/></td>
            <td>{d.event_state.label()}</td>
            <td>
                {again.map(|label| view! {
                    <ActionForm action=actions.redeliver>
                        <input type="hidden" name="outbox_id" value=d.outbox_id.to_string()/>
                        <button type="submit" class="btn btn-small">{label}</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
