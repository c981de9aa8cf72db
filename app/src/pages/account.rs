//! The signed-in person's own account: two-step sign-in with an authenticator app, and the
//! recovery codes that stand in for it.

use leptos::prelude::*;

use crate::api::account::{
    get_second_factor_overview, BeginTotp, CancelTotp, ConfirmTotp, DisableTotp, NewRecoveryCodes,
};
use crate::components::confirm::Confirm;
use crate::components::form::{action_error, action_ok, Field, FormError, Submit};
use crate::components::layout::{ErrorPanel, Loading, PageHeader, WithMe};
use crate::components::reveal::{Reveal, SecretReveal};
use crate::components::time::RelTime;
use crate::domain::Sensitive;
use crate::model::{CurrentUser, RecoveryCodes, SecondFactorOverview, TotpState};

#[derive(Clone, Copy)]
struct FactorActions {
    begin: ServerAction<BeginTotp>,
    cancel: ServerAction<CancelTotp>,
    confirm: ServerAction<ConfirmTotp>,
    disable: ServerAction<DisableTotp>,
    codes: ServerAction<NewRecoveryCodes>,
}

fn codes_reveal(codes: RecoveryCodes) -> Reveal {
    let text = codes
        .codes
        .iter()
        .map(|c| c.expose())
        .collect::<Vec<_>>()
        .join("\n");
    Reveal {
        title: "Save your recovery codes".into(),
        subject: format!(
            "{} one-time codes for signing in when your authenticator app is not at hand. Any earlier codes no longer work.",
            codes.codes.len()
        ),
        secret: Sensitive::new(text),
        noun: "recovery codes",
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let actions = FactorActions {
        begin: ServerAction::new(),
        cancel: ServerAction::new(),
        confirm: ServerAction::new(),
        disable: ServerAction::new(),
        codes: ServerAction::new(),
    };
    let overview = Resource::new(
        move || {
            (
                actions.begin.version().get(),
                actions.cancel.version().get(),
                actions.confirm.version().get(),
                actions.disable.version().get(),
                actions.codes.version().get(),
            )
        },
        |_| get_second_factor_overview(),
    );
    let confirmed = action_ok(actions.confirm);
    let renewed = action_ok(actions.codes);
    let reveal =
        Signal::derive(move || confirmed.get().or_else(|| renewed.get()).map(codes_reveal));
    let close = Callback::new(move |_| {
        actions.confirm.value().set(None);
        actions.codes.value().set(None);
    });
    let errors = [action_error(actions.begin), action_error(actions.cancel)];
    view! {
        // First in the page: without JavaScript it is the top of the page rendered once.
        <SecretReveal reveal=reveal on_close=close close_href="/account".to_string()/>
        <WithMe children=move |me: CurrentUser| view! {
            <PageHeader title="Your account".into() subtitle=format!("Signed in as {} ({}).", me.email, me.role.label())/>
        }/>
        <section class="panel" aria-labelledby="two-step-heading">
            <h2 id="two-step-heading">"Two-step sign-in"</h2>
            {errors.into_iter().map(|e| view! { <FormError error=e/> }).collect_view()}
            <Transition fallback=|| view! { <Loading what="your sign-in settings"/> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(o) => view! { <FactorState overview=o actions=actions/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FactorState(overview: SecondFactorOverview, actions: FactorActions) -> impl IntoView {
    match overview.totp {
        TotpState::Off => view! {
            <p>
                "Signing in asks for your password only. Add an authenticator app (such as 1Password, Bitwarden, Google Authenticator or Microsoft Authenticator) "
                "so that a stolen password alone cannot open Keyward."
            </p>
            <ActionForm action=actions.begin>
                <Submit label="Set up authenticator app" busy_label="Starting…" pending=actions.begin.pending().into()/>
            </ActionForm>
        }
        .into_any(),
        TotpState::Pending { account, secret, uri, qr_svg, expires_at } => {
            let error = action_error(actions.confirm);
            view! {
                <ol class="factor-steps">
                    <li>
                        <p>"Scan this QR code with your authenticator app:"</p>
                        <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=qr_svg.expose().to_string()></div>
                        <p class="hint">
                            "Cannot scan it? Add an account by hand: account " <strong>{account}</strong>
                            ", key " <code class="setup-key" id="totp-setup-key">{secret.expose().to_string()}</code>
                            " (time-based, 6 digits, every 30 seconds). On this device you can also "
                            <a href=uri.expose().to_string()>"open it in your app"</a>"."
                        </p>
                    </li>
                    <li>
                        <ActionForm action=actions.confirm attr:class="stack">
                            <FormError error=error fields=&["code"]/>
                            <Field
                                id="totp-code".into()
                                name="code"
                                label="Enter the 6-digit code the app shows"
                                autocomplete="one-time-code"
                                inputmode="numeric"
                                maxlength=9
                                required=true
                                error=error
                            />
                            <Submit label="Turn on two-step sign-in" busy_label="Checking…" pending=actions.confirm.pending().into()/>
                        </ActionForm>
                    </li>
                </ol>
                <p class="hint">"This setup expires " <RelTime ts=expires_at/> "; start again any time."</p>
                <ActionForm action=actions.cancel attr:class="inline-form">
                    <button type="submit" class="btn btn-small btn-ghost">"Cancel setup"</button>
                </ActionForm>
            }
            .into_any()
        }
        TotpState::On { since } => {
            let left = overview.recovery_codes_left;
            let (disable_error, codes_error) = (action_error(actions.disable), action_error(actions.codes));
            let codes_note = match left {
                0 => "You have no recovery codes left: make new ones now, or a lost phone locks you out.".to_string(),
                1 => "You have 1 unused recovery code. Make new ones soon.".to_string(),
                n if n <= 3 => format!("You have {n} unused recovery codes. Make new ones soon."),
                n => format!("You have {n} unused recovery codes."),
            };
            let low = left <= 3;
            view! {
                <p>
                    <span class="badge status-active">"On"</span>
                    " Signing in asks for a code from your authenticator app after your password (since "
                    <RelTime ts=since/>")."
                </p>
                <p class:alert=low class:alert-warning=low id="recovery-codes-left">{codes_note}</p>
                <div class="factor-actions">
                    <ActionForm action=actions.codes attr:class="stack">
                        <h3>"New recovery codes"</h3>
                        <p class="hint">"Replaces all your recovery codes with ten new ones."</p>
                        <FormError error=codes_error fields=&["password"]/>
                        <Field id="codes-password".into() name="password" label="Your password" input_type="password" autocomplete="current-password" required=true error=codes_error/>
                        <Submit label="Make new recovery codes" busy_label="Making…" pending=actions.codes.pending().into() class="btn"/>
                    </ActionForm>
                    <div>
                        <h3>"Turn off"</h3>
                        <Confirm label="Turn off two-step sign-in…".into() danger=true>
                            <ActionForm action=actions.disable attr:class="stack">
                                <p>"Signing in will ask for your password only, and your recovery codes stop working."</p>
                                <FormError error=disable_error fields=&["password"]/>
                                <Field id="totp-off-password".into() name="password" label="Your password" input_type="password" autocomplete="current-password" required=true error=disable_error/>
                                <Submit label="Yes, turn it off" busy_label="Turning off…" pending=actions.disable.pending().into() class="btn btn-danger"/>
                            </ActionForm>
                        </Confirm>
                    </div>
                </div>
            }
            .into_any()
        }
    }
}
