//! Forms that work with and without JavaScript.
//!
//! With JavaScript an `ActionForm` posts to its server function and the answer lands in the
//! action's value. Without it, the browser posts the form itself; the server then renders the
//! page the form was on again, with the outcome provided as `NoJsOutcome`. The helpers here
//! read whichever of the two exists, so a component is written once.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;

use crate::errors::AppError;

/// The outcome of a plain (no-JavaScript) form post, provided while the server renders the
/// page it came from: at once for a one-time answer (a new secret), or after a redirect for
/// an error (kept in the session until that page is shown once). `values` are the submitted
/// fields, minus passwords and codes, to refill the form.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NoJsOutcome {
    pub endpoint: String,
    pub result: Result<serde_json::Value, AppError>,
    pub values: Vec<(String, String)>,
}

/// The session key under which a failed no-JS form's outcome waits for the next page view.
pub const FLASH_KEY: &str = "nojs_outcome";

/// Fields never echoed back into a re-rendered form.
pub const NEVER_ECHOED: &[&str] = &["password", "password_confirm", "secret", "code"];

fn nojs_for(endpoint: &str) -> Option<NoJsOutcome> {
    use_context::<NoJsOutcome>().filter(|o| o.endpoint == endpoint)
}

/// The last error of the form behind `action`.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let nojs = nojs_for(S::PATH).and_then(|o| o.result.err());
    Signal::derive(move || {
        action.value().with(|v| match v {
            Some(Err(e)) => Some(e.clone()),
            Some(Ok(_)) => None,
            None => nojs.clone(),
        })
    })
}

/// The last successful answer of the form behind `action`.
pub fn action_ok<S>(action: ServerAction<S>) -> Signal<Option<S::Output>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let nojs = nojs_for(S::PATH)
        .and_then(|o| o.result.ok())
        .and_then(|json| serde_json::from_value::<S::Output>(json).ok());
    Signal::derive(move || {
        action.value().with(|v| match v {
            Some(Ok(out)) => Some(out.clone()),
            Some(Err(_)) => None,
            None => nojs.clone(),
        })
    })
}

/// What the user typed into `field` before a failed no-JS submit.
pub fn nojs_value<S: ServerFn>(field: &str) -> Option<String> {
    nojs_for(S::PATH)?
        .values
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
}

/// Whether this page render is the no-JS answer to a form post (such pages carry no
/// hydration scripts).
pub fn is_nojs_render() -> bool {
    use_context::<NoJsOutcome>().is_some()
}

/// The message for one field, if the error is about it.
pub fn field_message(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| e.field() == Some(field))
                .map(|e| e.to_string())
        })
    })
}

/// The error banner at the top of a form: errors that are not about one of `fields`.
#[component]
pub fn FormError(
    error: Signal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.field().is_none_or(|f| !fields.contains(&f)))
            .map(|e| {
                view! {
                    <div class="alert alert-error" role="alert">
                        {e.to_string()}
                    </div>
                }
            })
    }
}

/// A labelled input with its hint and its error, wired up for screen readers.
#[component]
pub fn Field(
    /// Unique within the page (`{form}-{name}`).
    id: String,
    name: &'static str,
    label: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] autofocus: bool,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] pattern: Option<&'static str>,
    /// The on-screen keyboard to offer ("numeric" for codes).
    #[prop(optional)]
    inputmode: Option<&'static str>,
) -> impl IntoView {
    let message = field_message(error, name);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:has-error=move || message.with(Option::is_some)>
            <label for=id.clone()>{label}{required.then_some(view! { <span class="req" aria-hidden="true">" *"</span> })}</label>
            <input
                id=id.clone()
                name=name
                type=input_type.unwrap_or("text")
                value=value
                required=required
                autocomplete=autocomplete
                placeholder=placeholder
                autofocus=autofocus
                maxlength=maxlength
                pattern=pattern
                inputmode=inputmode
                aria-invalid=move || if message.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {move || message.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A labelled multi-line input.
#[component]
pub fn TextArea(
    id: String,
    name: &'static str,
    label: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] maxlength: Option<usize>,
) -> impl IntoView {
    let message = field_message(error, name);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field" class:has-error=move || message.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id.clone()
                name=name
                rows="3"
                maxlength=maxlength
                aria-invalid=move || if message.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=hint.map(|_| hint_id.clone())
            >
                {value.unwrap_or_default()}
            </textarea>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {move || message.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A labelled `<select>`; `options` are (value, label) pairs.
#[component]
pub fn Select(
    id: String,
    name: &'static str,
    label: &'static str,
    error: Signal<Option<AppError>>,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: Option<String>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let message = field_message(error, name);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field" class:has-error=move || message.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <select id=id.clone() name=name aria-describedby=hint.map(|_| hint_id.clone())>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let is_selected = selected.as_deref() == Some(value.as_str());
                        view! { <option value=value selected=is_selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {move || message.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A submit button that says what is happening while the request runs.
#[component]
pub fn Submit(
    label: &'static str,
    busy_label: &'static str,
    pending: Signal<bool>,
    #[prop(optional)] class: Option<&'static str>,
) -> impl IntoView {
    view! {
        <button type="submit" class=class.unwrap_or("btn btn-primary") disabled=move || pending.get() aria-busy=move || pending.get().then_some("true")>
            {move || if pending.get() { busy_label } else { label }}
        </button>
    }
}
