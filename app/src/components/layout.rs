use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

use super::pagination::encode;
use crate::api::auth::{CompleteSetup, Login, Logout, SetPassword, VerifySecondFactor};
use crate::api::tokens::list_my_expiring_tokens;
use crate::domain::{policy, Role};
use crate::errors::AppError;
use crate::model::{CurrentUser, ExpiringToken};

pub type UserResource = Resource<Result<Option<CurrentUser>, AppError>>;

/// The actions that change who is signed in; the current-user resource refetches after each.
#[derive(Clone, Copy)]
pub struct AuthActions {
    pub login: ServerAction<Login>,
    /// The code after the password, for people with an authenticator app.
    pub second_factor: ServerAction<VerifySecondFactor>,
    pub logout: ServerAction<Logout>,
    pub setup: ServerAction<CompleteSetup>,
    pub set_password: ServerAction<SetPassword>,
}

/// The current-user resource (provided once by `App`).
pub fn user_resource() -> UserResource {
    expect_context::<UserResource>()
}

/// The signed-in user, from the already-loaded resource: await it inside a page's `Suspend`.
/// Pages are rendered beside (not inside) the layout's own suspense, so that each page and
/// its resources are created exactly once per render.
pub async fn me(user: UserResource) -> CurrentUser {
    user.await.ok().flatten().unwrap_or(CurrentUser {
        id: 0,
        email: String::new(),
        display_name: String::new(),
        role: Role::Viewer,
    })
}

/// Renders `children` with the signed-in user once it is known. Create resources outside of
/// it (at the top of the page component), never inside: what is inside may be rendered more
/// than once on the server.
#[component]
pub fn WithMe<F, V>(children: F) -> impl IntoView
where
    F: Fn(CurrentUser) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let user = user_resource();
    let children = std::sync::Arc::new(children);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move { children(me(user).await) })
            }}
        </Suspense>
    }
}

/// Every page behind sign-in: the navigation, then the page. Anonymous visitors are sent to
/// the login page and brought back afterwards.
#[component]
pub fn AppLayout() -> impl IntoView {
    let user = user_resource();
    let location = use_location();
    let actions = expect_context::<AuthActions>();
    let expiring = Resource::new(
        move || {
            (
                actions.login.version().get(),
                actions.second_factor.version().get(),
                actions.logout.version().get(),
            )
        },
        |_| list_my_expiring_tokens(),
    );
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Transition fallback=|| view! { <header class="topbar"><div class="nav container"><span class="brand">"Keyward"</span></div></header> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(me)) => view! { <TopNav me=me/> }.into_any(),
                    Ok(None) => {
                        let here = format!(
                            "{}{}",
                            location.pathname.get_untracked(),
                            location.search.get_untracked(),
                        );
                        let path = if here == "/" {
                            "/login".to_string()
                        } else {
                            format!("/login?next={}", encode(&here))
                        };
                        view! { <Redirect path=path/> }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Transition>
        <main id="main" class="container" tabindex="-1">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match expiring.await {
                        Ok(list) if !list.is_empty() => view! { <ExpiryNotice tokens=list/> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Transition>
            <Outlet/>
        </main>
    }
}

/// The signed-in person's own tokens that expire within the warning period.
#[component]
fn ExpiryNotice(tokens: Vec<ExpiringToken>) -> impl IntoView {
    let now = crate::domain::timefmt::now();
    let heading = if tokens.len() == 1 {
        "One of your tokens expires soon:".to_string()
    } else {
        format!("{} of your tokens expire soon:", tokens.len())
    };
    view! {
        <div class="alert alert-warning expiry-notice" role="status">
            <p><strong>{heading}</strong></p>
            <ul>
                {tokens.into_iter().map(|t| view! {
                    <li>
                        <a href=format!("/tokens/{}", t.id)>{t.name}</a>
                        " — expires "
                        <time datetime=crate::domain::timefmt::iso(t.expires_at) title=crate::domain::timefmt::exact(t.expires_at)>
                            {crate::domain::timefmt::relative(t.expires_at, now)}
                        </time>
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn TopNav(me: CurrentUser) -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let role = me.role;
    let label = me.label().to_string();
    view! {
        <header class="topbar">
            <nav class="nav container" aria-label="Main">
                <a class="brand" href="/">"Keyward"</a>
                <ul class="nav-links">
                    <li><A href="/service-accounts">"Service accounts"</A></li>
                    {policy::token_table_scope(role).map(|_| view! { <li><A href="/tokens">"Tokens"</A></li> })}
                    <li><A href="/my-tokens">"My tokens"</A></li>
                    <li><A href="/team">"Team"</A></li>
                    {policy::can_view_audit_log(role).then(|| view! { <li><A href="/audit">"Audit log"</A></li> })}
                    {policy::can_manage_settings(role).then(|| view! { <li><A href="/settings">"Settings"</A></li> })}
                </ul>
                <div class="user-menu">
                    <a class="user-name" href="/account" title=format!("Your account ({})", me.email)>{label}</a>
                    <span class=format!("badge role-{}", role.as_str())>{role.label()}</span>
                    <ActionForm action=actions.logout attr:class="inline-form">
                        <button type="submit" class="btn btn-small btn-ghost">"Sign out"</button>
                    </ActionForm>
                </div>
            </nav>
        </header>
    }
}

#[component]
pub fn PageHeader(
    title: String,
    #[prop(optional)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text=format!("{title} · Keyward")/>
        <header class="page-header">
            <div>
                <h1>{title}</h1>
                {subtitle.map(|s| view! { <p class="subtitle">{s}</p> })}
            </div>
            <div class="page-actions">{children.map(|c| c())}</div>
        </header>
    }
}

/// A failure where a page's content should be: what went wrong and what to do.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let title = match &error {
        AppError::NotFound { .. } => "Not found",
        AppError::Forbidden { .. } | AppError::SessionRequired => "Not allowed",
        AppError::Unauthenticated => "Signed out",
        AppError::Network { .. } => "Connection problem",
        _ => "Something went wrong",
    };
    #[cfg(feature = "ssr")]
    if let Some(res) =
        use_context::<leptos_axum::ResponseOptions>().filter(|_| error != AppError::Unauthenticated)
    {
        res.set_status(
            http::StatusCode::from_u16(error.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    view! {
        <div class="alert alert-error panel" role="alert">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
        </div>
    }
}

/// A quiet placeholder while a list loads.
#[component]
pub fn Loading(#[prop(optional)] what: Option<&'static str>) -> impl IntoView {
    view! { <p class="loading" role="status">{format!("Loading {}…", what.unwrap_or(""))}</p> }
}

/// What an empty list says, and what to do about it.
#[component]
pub fn Empty(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <h3>{title}</h3>
            <div>{children()}</div>
        </div>
    }
}
