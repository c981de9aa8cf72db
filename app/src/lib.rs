//! Keyward: pages, components and server functions (compiled for the browser and the server),
//! and behind the `ssr` feature the database layer and domain services they use.

pub mod api;
pub mod components;
pub mod domain;
pub mod errors;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::api::auth::get_current_user;
use crate::components::form::is_nojs_render;
use crate::components::layout::{AppLayout, AuthActions, UserResource};
use crate::pages::account::AccountPage;
use crate::pages::audit::AuditPage;
use crate::pages::login::LoginPage;
use crate::pages::my_tokens::MyTokensPage;
use crate::pages::not_found::NotFoundPage;
use crate::pages::second_factor::SecondFactorPage;
use crate::pages::service_accounts::{ServiceAccountPage, ServiceAccountsPage};
use crate::pages::set_password::SetPasswordPage;
use crate::pages::settings::SettingsPage;
use crate::pages::setup::SetupPage;
use crate::pages::team::TeamPage;
use crate::pages::token_detail::TokenDetailPage;
use crate::pages::token_table::TokenTablePage;
use crate::pages::webhooks::WebhooksPage;

/// The HTML document around the app. Pages rendered as the answer to a form posted without
/// JavaScript carry no hydration scripts: they are plain HTML, shown once.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        backend::csp::provide_nonce_and_policy();
        // A failed no-JS form, redirected here: its outcome came with the request.
        if use_context::<components::form::NoJsOutcome>().is_none() {
            if let Some(outcome) = use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<components::form::NoJsOutcome>().cloned())
            {
                provide_context(outcome);
            }
        }
    }
    let hydrate = !is_nojs_render();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:,"/>
                {hydrate.then(|| view! { <HydrationScripts options=options.clone()/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let actions = AuthActions {
        login: ServerAction::new(),
        second_factor: ServerAction::new(),
        logout: ServerAction::new(),
        setup: ServerAction::new(),
        set_password: ServerAction::new(),
    };
    provide_context(actions);
    let user: UserResource = Resource::new(
        move || {
            (
                actions.login.version().get(),
                actions.second_factor.version().get(),
                actions.logout.version().get(),
                actions.setup.version().get(),
                actions.set_password.version().get(),
            )
        },
        |_| get_current_user(),
    );
    provide_context(user);
    view! {
        <Stylesheet id="leptos" href="/pkg/keyward.css"/>
        <Title text="Keyward"/>
        <Router>
            <Routes fallback=|| view! { <main id="main" class="container"><NotFoundPage/></main> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/login/second-factor") view=SecondFactorPage ssr=SsrMode::Async/>
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
                <Route path=path!("/set-password") view=SetPasswordPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=AppLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/service-accounts"/> } ssr=SsrMode::Async/>
                    <Route path=path!("/service-accounts") view=ServiceAccountsPage ssr=SsrMode::Async/>
                    <Route path=path!("/service-accounts/:id") view=ServiceAccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/tokens") view=TokenTablePage ssr=SsrMode::Async/>
                    <Route path=path!("/tokens/:id") view=TokenDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/my-tokens") view=MyTokensPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/team") view=TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
