use leptos::prelude::*;

use crate::api::settings::{get_settings, UpdateSettings};
use crate::components::form::{action_error, action_ok, Field, FormError, Submit};
use crate::components::layout::{me as signed_in, user_resource, ErrorPanel, Loading, PageHeader};
use crate::domain::policy;
use crate::errors::AppError;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let user = user_resource();
    let update = ServerAction::<UpdateSettings>::new();
    let settings = Resource::new(move || update.version().get(), |_| get_settings());
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
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
    }
}
