use leptos::prelude::*;

use crate::domain::token_format::TokenKind;
use crate::domain::Role;
use crate::model::{TokenStatus, UserStatus};

#[component]
pub fn RoleBadge(role: Role) -> impl IntoView {
    view! { <span class=format!("badge role-{}", role.as_str())>{role.label()}</span> }
}

#[component]
pub fn StatusBadge(status: TokenStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.as_str())>{status.label()}</span> }
}

#[component]
pub fn UserStatusBadge(status: UserStatus) -> impl IntoView {
    let class = match status {
        UserStatus::Active => "badge status-active",
        UserStatus::Invited => "badge status-expiring_soon",
        UserStatus::Deactivated => "badge status-owner_disabled",
    };
    view! { <span class=class>{status.label()}</span> }
}

/// A key icon whose colour tells service-account tokens from personal ones.
#[component]
pub fn KindIcon(kind: TokenKind) -> impl IntoView {
    let (class, label) = match kind {
        TokenKind::ServiceAccount => ("key-icon key-sa", "Service account token"),
        TokenKind::Personal => ("key-icon key-personal", "Personal token"),
    };
    view! {
        <svg class=class viewBox="0 0 24 24" width="16" height="16" role="img" aria-label=label>
            <title>{label}</title>
            <path d="M7 14a5 5 0 1 1 4.9-6H22v4h-2v3h-3v-3h-5.1A5 5 0 0 1 7 14zm0-3a2 2 0 1 0 0-4 2 2 0 0 0 0 4z" fill="currentColor"/>
        </svg>
    }
}
