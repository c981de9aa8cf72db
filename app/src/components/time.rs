use leptos::prelude::*;

use crate::domain::timefmt::{exact, expires_soon, iso, now, relative};

/// A time shown relative to now ("3 days ago"), the exact UTC time on hover.
#[component]
pub fn RelTime(ts: i64) -> impl IntoView {
    view! { <time datetime=iso(ts) title=exact(ts)>{relative(ts, now())}</time> }
}

/// An optional time; `none` is what to say when there is none ("Never").
#[component]
pub fn MaybeTime(ts: Option<i64>, none: &'static str) -> impl IntoView {
    match ts {
        Some(ts) => view! { <RelTime ts=ts/> }.into_any(),
        None => view! { <span class="muted">{none}</span> }.into_any(),
    }
}

/// When a token expires: "Never", "in 2 months", "expires in 3 days" (highlighted in the last
/// week), "expired 2 days ago".
#[component]
pub fn Expiry(expires_at: Option<i64>) -> impl IntoView {
    let now = now();
    match expires_at {
        None => view! { <span class="muted">"Never"</span> }.into_any(),
        Some(at) if at <= now => view! {
            <time class="expired" datetime=iso(at) title=exact(at)>{format!("expired {}", relative(at, now))}</time>
        }
        .into_any(),
        Some(at) => match expires_soon(Some(at), now) {
            Some(days) => view! {
                <time class="expiring" datetime=iso(at) title=exact(at)>
                    {format!("expires in {days} day{}", if days == 1 { "" } else { "s" })}
                </time>
            }
            .into_any(),
            None => view! { <RelTime ts=at/> }.into_any(),
        },
    }
}
