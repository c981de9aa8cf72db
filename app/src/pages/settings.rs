use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::settings::{get_settings, preview_stale_policy, SetStalePolicy, UpdateSettings};
use crate::components::form::{action_error, action_ok, Field, FormError, Submit};
use crate::components::layout::{me as signed_in, user_resource, ErrorPanel, Loading, PageHeader};
use crate::domain::{policy, stale, timefmt};
use crate::errors::AppError;
use crate::model::StalePreview;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let user = user_resource();
    let update = ServerAction::<UpdateSettings>::new();
    let set_stale = ServerAction::<SetStalePolicy>::new();
    let settings = Resource::new(
        move || (update.version().get(), set_stale.version().get()),
        |_| get_settings(),
    );
    // Made here, not inside the settings' Suspend: a resource created during a Suspend's render
    // could hydrate out of step with the server's HTML (an intermittent panic in release).
    let query = use_query_map();
    let asked = Memo::new(move |_| query.read().get("stale_days").unwrap_or_default());
    let preview = Resource::new(
        move || asked.get(),
        |days| async move {
            if days.trim().is_empty() {
                None
            } else {
                Some(preview_stale_policy(days).await)
            }
        },
    );
    let error = action_error(update);
    let saved = action_ok(update);
    view! {
        <PageHeader title="Settings".into() subtitle="Organisation-wide rules for tokens.".into()>
            <a class="btn" href="/settings/webhooks">"Webhooks"</a>
        </PageHeader>
                <Transition fallback=|| view! { <Loading what="settings"/> }>
                    {move || Suspend::new(async move {
                        if !policy::can_manage_settings(signed_in(user).await.role) {
                            return view! { <ErrorPanel error=AppError::forbidden("Only Admins can change settings.")/> }.into_any();
                        }
                        match settings.await {
                            Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                            Ok(s) => view! {
                                <ActionForm action=update attr:class="stack panel">
                                    {move || saved.get().map(|_| view! { <div class="alert alert-success" role="status">"Settings saved."</div> })}
                                    <FormError error=error fields=&["max_token_lifetime_days", "default_rate_limit_per_minute"]/>
                                    <Field
                                        id="settings-max-lifetime".into()
                                        name="max_token_lifetime_days"
                                        label="Maximum token lifetime (days)"
                                        input_type="number"
                                        error=error
                                        value=s.max_token_lifetime_days.map(|d| d.to_string()).unwrap_or_default()
                                        hint="Leave empty for no maximum. With a maximum, “never expires” is not offered and longer expiries are refused. Existing tokens keep their expiry."
                                    />
                                    <Field
                                        id="settings-rate-limit".into()
                                        name="default_rate_limit_per_minute"
                                        label="Default rate limit (requests per minute per token)"
                                        input_type="number"
                                        error=error
                                        value=s.default_rate_limit_per_minute.to_string()
                                        hint="Applies to tokens without a limit of their own."
                                    />
                                    <Submit label="Save settings" busy_label="Saving…" pending=update.pending().into()/>
                                </ActionForm>
                                <StalePolicy current=s.stale_token_days set=set_stale asked=asked preview=preview/>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
    }
}

/// "Revoke tokens unused for N days": the policy as it stands, a preview for the days asked
/// for (in the URL, `?stale_days=N`: it survives reload and works without JavaScript), and the
/// switch, offered only beside a preview so nobody turns it on blind.
#[component]
fn StalePolicy(
    current: Option<i64>,
    set: ServerAction<SetStalePolicy>,
    /// The days in the URL (`?stale_days=`) and their preview, made by the page.
    asked: Memo<String>,
    preview: Resource<Option<Result<StalePreview, AppError>>>,
) -> impl IntoView {
    let error = action_error(set);
    let status = match current {
        None => "Off: tokens are never revoked for disuse.".to_string(),
        Some(d) => format!(
            "On: a token unused for {d} days is revoked, after a {}-day warning (webhook event token.expiring, reason unused).",
            stale::WARNING_DAYS
        ),
    };
    view! {
        <section class="panel stack" aria-labelledby="stale-heading">
            <h2 id="stale-heading">"Stale-token policy"</h2>
            <p id="stale-status">{status}</p>
            <FormError error=error fields=&[]/>
            {current.map(|_| view! {
                <ActionForm action=set>
                    <input type="hidden" name="days" value=""/>
                    <button type="submit" class="btn" disabled=move || set.pending().get()>"Turn the policy off"</button>
                </ActionForm>
            })}
            <Form method="GET" action="" attr:class="toolbar">
                <div class="field inline">
                    <label for="stale-days">"Revoke tokens unused for (days)"</label>
                    <input id="stale-days" type="number" name="stale_days" min=stale::MIN_DAYS max=stale::MAX_DAYS required
                        value=move || { let a = asked.get(); if a.is_empty() { current.map(|d| d.to_string()).unwrap_or_default() } else { a } }
                        aria-describedby="stale-days-hint"/>
                </div>
                <button type="submit" class="btn">"Preview"</button>
            </Form>
            <p id="stale-days-hint" class="hint">
                {format!("Between {} and {} days. A token is unused since its last request, or since it was created if it never made one. Preview first: the policy is turned on from the preview.", stale::MIN_DAYS, stale::MAX_DAYS)}
            </p>
            <Transition fallback=|| view! { <Loading what="preview"/> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! {
                            <div class="alert alert-error" role="alert" id="stale-days-error">{e.to_string()}</div>
                        }
                        .into_any(),
                        Some(Ok(p)) => view! { <StalePreviewView preview=p set=set current=current/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StalePreviewView(
    preview: StalePreview,
    set: ServerAction<SetStalePolicy>,
    /// The policy in force: previewing its own days offers no "turn on".
    current: Option<i64>,
) -> impl IntoView {
    let p = preview;
    let now = p.now;
    let warned_after = p.days - stale::WARNING_DAYS;
    let in_force = current == Some(p.days);
    let summary = if in_force {
        format!(
            "{} {} unused for {warned_after} days or more ({} of them for {} days already). The policy is on with these days: each is revoked {} days after its warning unless it is used.",
            p.count,
            if p.count == 1 { "token has been" } else { "tokens have been" },
            p.unused_full_period,
            p.days,
            stale::WARNING_DAYS,
        )
    } else if p.count == 0 {
        format!("No token has been unused for {warned_after} days or more: turning the policy on revokes nothing this week.")
    } else {
        format!(
            "{} {} unused for {warned_after} days or more ({} of them for {} days already). Turning the policy on warns {} now and revokes {} on {} unless {} used before.",
            p.count,
            if p.count == 1 { "token has been" } else { "tokens have been" },
            p.unused_full_period,
            p.days,
            if p.count == 1 { "it" } else { "them" },
            if p.count == 1 { "it" } else { "them" },
            timefmt::date(p.revokes_on),
            if p.count == 1 { "it is" } else { "they are" },
        )
    };
    let more = p.count - p.tokens.len() as i64;
    let days = p.days.to_string();
    view! {
        <div class="stack" id="stale-preview">
            <p role="status">{summary}</p>
            {(!p.tokens.is_empty()).then(|| view! {
                <ul class="plain-list" aria-label="Tokens the policy would revoke">
                    {p.tokens.into_iter().map(|t| {
                        let used = match t.last_used_at {
                            Some(at) => format!("last used {}", timefmt::relative(at, now)),
                            None => format!("never used, created {}", timefmt::relative(t.created_at, now)),
                        };
                        view! {
                            <li><a href=format!("/tokens/{}", t.id)>{t.name}</a>" · "{t.owner}" · "{used}</li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {(more > 0).then(|| view! { <p>{format!("and {more} more.")}</p> })}
            {(p.warning_endpoints == 0).then(|| view! {
                <p class="alert alert-warning">
                    "No webhook endpoint receives token.expiring, so nobody outside Keyward hears the warnings. "
                    <a href="/settings/webhooks">"Add one"</a>" before turning the policy on."
                </p>
            })}
            {(!in_force).then(|| view! {
                <ActionForm action=set>
                    <input type="hidden" name="days" value=days/>
                    <button type="submit" class="btn btn-primary" disabled=move || set.pending().get()>
                        {format!("Turn on: revoke tokens unused for {} days", p.days)}
                    </button>
                </ActionForm>
            })}
        </div>
    }
}
