//! The one-time secret reveal: after a token is created or rotated (or a set-password link is
//! made) its secret is shown exactly once.
//!
//! With JavaScript: a modal `<dialog>` (the rest of the page is inert, so focus stays inside),
//! the secret in monospace, a copy button that says "Copied", a warning, and a close button
//! worded so the user confirms they stored it. Escape asks before closing. Closing drops the
//! secret from memory; nothing else ever held it.
//!
//! Without JavaScript: the page the form was on is rendered once more with the secret in a
//! panel at the top; its "continue" link loads the page afresh, without it.

use leptos::html::Dialog;
use leptos::prelude::*;

use super::form::is_nojs_render;
use crate::domain::Sensitive;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reveal {
    /// "Copy your new token now"
    pub title: String,
    /// What this secret is: "Token deploy_prod of service account ci_bot".
    pub subject: String,
    pub secret: Sensitive,
    /// "token", "link" or "recovery codes" (one per line): used in the wording.
    pub noun: &'static str,
}

impl Reveal {
    /// Where the secret should go: a token to a secret store, a set-password link to its
    /// person, recovery codes away from the phone they stand in for.
    fn storage_hint(&self) -> &'static str {
        match self.noun {
            "link" => " Copy it now and give it only to the person it is for; it works once and expires.",
            "recovery codes" => " Store them somewhere safe and apart from your phone, such as a password manager or on paper. Each one works once, in place of a code from your app.",
            _ => " Copy it now and store it somewhere safe, such as a password manager or your CI's secret store.",
        }
    }

    fn warning(&self) -> String {
        let this = if self.is_plural() { "These" } else { "This" };
        format!("{this} {} will not be shown again.", self.noun)
    }

    fn is_plural(&self) -> bool {
        self.noun.ends_with('s')
    }

    /// Several secrets are shown one per line.
    fn lines(&self) -> usize {
        self.secret.expose().lines().count().max(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

#[component]
pub fn SecretReveal(
    reveal: Signal<Option<Reveal>>,
    /// Clears the secret (sets the action's value back to `None`).
    on_close: Callback<()>,
    /// Where "continue" goes when the reveal was rendered without JavaScript.
    close_href: String,
) -> impl IntoView {
    if is_nojs_render() {
        return view! {
            {move || {
                let close_href = close_href.clone();
                reveal.get().map(|r| {
                    let (hint, warning, rows) = (r.storage_hint(), r.warning(), r.lines() + 1);
                    view! {
                        <section class="reveal reveal-static" aria-labelledby="reveal-title">
                            <h2 id="reveal-title">{r.title}</h2>
                            <p>{r.subject}</p>
                            <p class="reveal-warning">
                                <strong>{warning}</strong>
                                {hint}
                            </p>
                            <label for="revealed-secret" class="sr-only">{format!("The new {}", r.noun)}</label>
                            <textarea id="revealed-secret" class="secret" readonly rows=rows.to_string() spellcheck="false">{r.secret.expose().to_string()}</textarea>
                            <a class="btn btn-primary" href=close_href>{format!("I have stored the {} — continue", r.noun)}</a>
                        </section>
                    }
                })
            }}
        }
        .into_any();
    }

    let dialog_ref = NodeRef::<Dialog>::new();
    let copy_ref = NodeRef::<leptos::html::Button>::new();
    let keep_ref = NodeRef::<leptos::html::Button>::new();
    let (copy_state, set_copy_state) = signal(CopyState::Idle);
    let (asking, set_asking) = signal(false);

    // Open as a modal once the dialog is in the page.
    Effect::new(move |_| {
        if reveal.with(Option::is_some) {
            if let Some(dialog) = dialog_ref.get() {
                if !dialog.open() {
                    let _ = dialog.show_modal();
                }
            }
        }
    });

    // Focus follows the conversation: Copy when the dialog opens (and after "Keep it open"),
    // "Keep it open" when the question appears. Nodes that appear later than the dialog
    // itself do not get `autofocus`, so this is done by hand.
    Effect::new(move |_| {
        let open = reveal.with(Option::is_some) && dialog_ref.get().is_some();
        if !open {
            return;
        }
        let target = if asking.get() {
            keep_ref.get()
        } else {
            copy_ref.get()
        };
        if let Some(button) = target {
            let _ = button.focus();
        }
    });

    let close = move || {
        if let Some(dialog) = dialog_ref.get_untracked() {
            dialog.close();
        }
        set_asking.set(false);
        set_copy_state.set(CopyState::Idle);
        on_close.run(());
    };

    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text = reveal.with_untracked(|r| r.as_ref().map(|r| r.secret.expose().to_string()));
            if let Some(text) = text {
                let promise = window().navigator().clipboard().write_text(&text);
                leptos::task::spawn_local(async move {
                    let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                    set_copy_state.set(if ok {
                        CopyState::Copied
                    } else {
                        CopyState::Failed
                    });
                });
            }
        }
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            set_asking.set(true);
        }
    };

    view! {
        {move || {
            reveal.get().map(|r| {
                view! {
                    <dialog
                        node_ref=dialog_ref
                        class="reveal reveal-modal"
                        aria-labelledby="reveal-title"
                        aria-describedby="reveal-warning"
                        on:keydown=on_keydown
                        on:cancel=move |ev: leptos::ev::Event| {
                            ev.prevent_default();
                            set_asking.set(true);
                        }
                    >
                        <h2 id="reveal-title">{r.title.clone()}</h2>
                        <p>{r.subject.clone()}</p>
                        <p class="reveal-warning" id="reveal-warning">
                            <strong>{r.warning()}</strong>
                            {r.storage_hint()}
                        </p>
                        <div class="secret-row">
                            <code id="revealed-secret" class="secret" class:multiline={r.lines() > 1} aria-label=format!("The new {}", r.noun)>{r.secret.expose().to_string()}</code>
                            <button type="button" class="btn" on:click=copy node_ref=copy_ref>
                                {move || match copy_state.get() {
                                    CopyState::Copied => "Copied",
                                    _ => "Copy",
                                }}
                            </button>
                        </div>
                        <p class="copy-status" role="status" aria-live="polite">
                            {move || match copy_state.get() {
                                CopyState::Copied => "Copied to the clipboard.",
                                CopyState::Failed => "Could not copy automatically: select the text and press Ctrl+C (⌘C).",
                                CopyState::Idle => "",
                            }}
                        </p>
                        {move || {
                            if asking.get() {
                                view! {
                                    <div class="reveal-confirm" role="alertdialog" aria-labelledby="reveal-confirm-text">
                                        <p id="reveal-confirm-text">
                                            "Close without storing it? You will not be able to see this secret again."
                                        </p>
                                        <button type="button" class="btn" on:click=move |_| set_asking.set(false) node_ref=keep_ref>"Keep it open"</button>
                                        <button type="button" class="btn btn-danger" on:click=move |_| close()>"Close anyway"</button>
                                    </div>
                                }
                                .into_any()
                            } else {
                                view! {
                                    <div class="reveal-actions">
                                        <button type="button" class="btn btn-primary" on:click=move |_| close()>
                                            {format!("I have stored the {} — close", r.noun)}
                                        </button>
                                    </div>
                                }
                                .into_any()
                            }
                        }}
                    </dialog>
                }
            })
        }}
    }
    .into_any()
}
