use leptos::prelude::*;

/// A destructive action that asks first: the button opens a small panel with the question
/// and the real (form) button. A native disclosure, so it needs no JavaScript and works from
/// the keyboard.
#[component]
pub fn Confirm(
    /// The button that opens the question, e.g. "Revoke…".
    label: String,
    #[prop(optional)] danger: bool,
    /// Accessible name when the label alone is ambiguous in a table ("Revoke ci_deploy").
    #[prop(optional, into)]
    aria_label: Option<String>,
    children: Children,
) -> impl IntoView {
    let class = if danger {
        "btn btn-small btn-danger-outline"
    } else {
        "btn btn-small"
    };
    view! {
        <details class="confirm">
            <summary class=class aria-label=aria_label>{label}</summary>
            <div class="confirm-panel">{children()}</div>
        </details>
    }
}
