//! Token lists and forms shared by the service-account page and "My tokens".

use leptos::prelude::*;

use super::badges::{KindIcon, StatusBadge};
use super::confirm::Confirm;
use super::form::{action_error, Field, FormError, Select, TextArea};
use super::time::{Expiry, MaybeTime, RelTime};
use crate::api::tokens::{DeleteToken, RestoreToken, RevokeToken, RotateToken, UpdateToken};
use crate::domain::expiry::{Grace, DEFAULT_EXPIRY_CHOICE, EXPIRY_CHOICES};
use crate::domain::limits::{DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS};
use crate::errors::AppError;
use crate::model::{TokenStatus, TokenView};

/// The per-token actions of one list; lists refetch when any of their versions moves.
#[derive(Clone, Copy)]
pub struct TokenActions {
    pub revoke: ServerAction<RevokeToken>,
    pub restore: ServerAction<RestoreToken>,
    pub delete: ServerAction<DeleteToken>,
    pub rotate: ServerAction<RotateToken>,
    pub update: ServerAction<UpdateToken>,
}

impl TokenActions {
    pub fn new() -> Self {
        Self {
            revoke: ServerAction::new(),
            restore: ServerAction::new(),
            delete: ServerAction::new(),
            rotate: ServerAction::new(),
            update: ServerAction::new(),
        }
    }

    /// Tracks every action: use as (part of) a resource source.
    pub fn version(&self) -> usize {
        self.revoke.version().get()
            + self.restore.version().get()
            + self.delete.version().get()
            + self.rotate.version().get()
            + self.update.version().get()
    }
}

impl Default for TokenActions {
    fn default() -> Self {
        Self::new()
    }
}

/// The fields of a new token: name, description, expiry.
#[component]
pub fn TokenFields(
    prefix: &'static str,
    error: Signal<Option<AppError>>,
    /// The organisation's maximum lifetime in days, if any.
    max_days: Option<i64>,
    /// The organisation's default rate limit (for the hint).
    default_rate: i64,
    #[prop(optional)] name: Option<String>,
    #[prop(optional)] description: Option<String>,
) -> impl IntoView {
    let choices: Vec<(String, String)> = EXPIRY_CHOICES
        .iter()
        .filter(|(value, _)| match (max_days, value.parse::<i64>()) {
            (Some(max), Ok(days)) => days <= max,
            (Some(_), Err(_)) => *value != "never",
            (None, _) => true,
        })
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    let selected = if choices.iter().any(|(v, _)| v == DEFAULT_EXPIRY_CHOICE) {
        DEFAULT_EXPIRY_CHOICE.to_string()
    } else {
        choices.first().map(|(v, _)| v.clone()).unwrap_or_default()
    };
    view! {
        <Field
            id=format!("{prefix}-name")
            name="name"
            label="Token name"
            error=error
            value=name.unwrap_or_default()
            required=true
            maxlength=NAME_MAX_CHARS
            hint="3–64 lowercase letters, digits and underscores, e.g. deploy_prod."
            autocomplete="off"
        />
        <TextArea
            id=format!("{prefix}-description")
            name="description"
            label="Description (optional)"
            error=error
            value=description.unwrap_or_default()
            maxlength=DESCRIPTION_MAX_CHARS
            hint="What uses this token? At most 500 characters."
        />
        <div class="expiry-group">
            <Select
                id=format!("{prefix}-expires-in")
                name="expires_in"
                label="Expires"
                error=error
                options=choices
                selected=selected
                hint=if max_days.is_some() { "Your organisation limits how long tokens may live." } else { "30 days is a good default." }
            />
            <div class="custom-date">
                <Field
                    id=format!("{prefix}-expires-on")
                    name="expires_on"
                    label="Custom expiry date"
                    input_type="date"
                    error=error
                    hint="Used with “Custom date…”: the token works through the end of this day (UTC)."
                />
            </div>
        </div>
        <details class="advanced">
            <summary>"Restrictions and sliding expiry (optional)"</summary>
            <div class="stack">
                <div class="field checkbox">
                    <input type="checkbox" id=format!("{prefix}-sliding") name="sliding" value="true"/>
                    <label for=format!("{prefix}-sliding")>"Sliding expiry: valid for the chosen number of days after each use"</label>
                </div>
                {move || super::form::field_message(error, "sliding").get().map(|m| view! { <p class="field-error">{m}</p> })}
                <TextArea
                    id=format!("{prefix}-allowed-cidrs")
                    name="allowed_cidrs"
                    label="Allowed IP ranges"
                    error=error
                    hint="One per line or comma-separated, IPv4 or IPv6, e.g. 10.0.0.0/8 or 2001:db8::/32. Empty: any address."
                />
                <Field
                    id=format!("{prefix}-rate-limit")
                    name="rate_limit_per_minute"
                    label="Rate limit (requests per minute)"
                    input_type="number"
                    error=error
                    placeholder=""
                />
                <p class="hint">{format!("Empty: the organisation default ({default_rate} per minute).")}</p>
            </div>
        </details>
    }
}

/// A table of tokens with their lifecycle actions.
#[component]
pub fn TokenTable(
    tokens: Vec<TokenView>,
    actions: TokenActions,
    /// May the viewer revoke, rotate, edit and delete these tokens?
    can_manage: bool,
    /// Admins may restore revoked tokens.
    can_restore: bool,
) -> impl IntoView {
    let errors = [
        action_error(actions.revoke),
        action_error(actions.restore),
        action_error(actions.delete),
        action_error(actions.rotate),
        action_error(actions.update),
    ];
    view! {
        {errors.into_iter().map(|e| view! { <FormError error=e/> }).collect_view()}
        <div class="table-wrap">
            <table class="data-table">
                <caption class="sr-only">"Tokens"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {tokens
                        .into_iter()
                        .map(|t| view! { <TokenRow token=t actions=actions can_manage=can_manage can_restore=can_restore/> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn TokenRow(
    token: TokenView,
    actions: TokenActions,
    can_manage: bool,
    can_restore: bool,
) -> impl IntoView {
    let id = token.id;
    let name = token.name.clone();
    let usable = token.status.is_usable() || token.status == TokenStatus::OwnerDisabled;
    let revoked = token.status == TokenStatus::Revoked;
    let restorable = revoked && token.restorable() && can_restore;
    let deletable = token.deletable() && can_manage;
    let reason = token.revoke_reason.map(|r| r.label());
    let grace = token.previous_secret_expires_at;
    view! {
        <tr id=format!("token-{id}") data-token-name=name.clone()>
            <td>
                <div class="token-name">
                    <KindIcon kind=token.kind/>
                    <strong><a href=format!("/tokens/{id}")>{token.name.clone()}</a></strong>
                </div>
                {(!token.description.is_empty()).then(|| view! { <div class="muted small">{token.description.clone()}</div> })}
                <div class="restrictions">
                    {token.sliding_days.map(|d| view! { <span class="tag" title="The expiry moves forward with every use">{format!("sliding {d}d")}</span> })}
                    {(!token.allowed_cidrs.is_empty()).then(|| view! {
                        <span class="tag" title=format!("Only from: {}", token.allowed_cidrs.replace('\n', ", "))>"IP-restricted"</span>
                    })}
                    {token.rate_limit_per_minute.map(|n| view! { <span class="tag">{format!("{n}/min")}</span> })}
                </div>
            </td>
            <td><code class="prefix">{format!("{}…", token.display_prefix)}</code></td>
            <td>
                <StatusBadge status=token.status/>
                {reason.filter(|_| revoked).map(|r| view! { <div class="muted small">{r}</div> })}
                {grace.map(|g| view! { <div class="muted small">"old secret stops working " <RelTime ts=g/></div> })}
            </td>
            <td><Expiry expires_at=token.expires_at/></td>
            <td>
                <MaybeTime ts=token.last_used_at none="Never"/>
                {token.last_used_ip.clone().map(|ip| view! {
                    <div class="muted small" title=token.last_used_user_agent.clone().map(|ua| format!("User agent: {ua}"))>{ip}</div>
                })}
            </td>
            <td>
                <RelTime ts=token.created_at/>
                <div class="muted small">{format!("by {}", token.created_by)}</div>
            </td>
            <td class="row-actions">
                {(can_manage && usable).then(|| {
                    let (rotate_label, revoke_label) = (format!("Rotate {name}"), format!("Revoke {name}"));
                    let (n1, n2) = (name.clone(), name.clone());
                    view! {
                        <Confirm label="Rotate…".into() aria_label=rotate_label>
                            <ActionForm action=actions.rotate>
                                <input type="hidden" name="id" value=id/>
                                <p>"Issue a new secret for " <strong>{n1}</strong> ". The new secret is shown once."</p>
                                <Select
                                    id=format!("rotate-{id}-grace")
                                    name="grace"
                                    label="Keep the old secret working for"
                                    error=Signal::derive(|| None)
                                    options=Grace::CHOICES.iter().map(|(v, l)| (v.to_string(), l.to_string())).collect()
                                    selected="1h"
                                />
                                <button type="submit" class="btn btn-primary btn-small">"Rotate now"</button>
                            </ActionForm>
                        </Confirm>
                        <Confirm label="Revoke…".into() danger=true aria_label=revoke_label>
                            <ActionForm action=actions.revoke>
                                <input type="hidden" name="id" value=id/>
                                <p>"Revoke " <strong>{n2}</strong> "? Anything using it stops working immediately."</p>
                                <button type="submit" class="btn btn-danger btn-small">"Yes, revoke"</button>
                            </ActionForm>
                        </Confirm>
                    }
                })}
                {(can_manage && !revoked).then(|| {
                    let label = format!("Edit {name}");
                    let (current_name, current_description) = (token.name.clone(), token.description.clone());
                    let current_cidrs = token.allowed_cidrs.clone();
                    let current_rate = token.rate_limit_per_minute.map(|n| n.to_string()).unwrap_or_default();
                    view! {
                        <Confirm label="Edit…".into() aria_label=label>
                            <ActionForm action=actions.update>
                                <input type="hidden" name="id" value=id/>
                                <Field id=format!("edit-{id}-name") name="name" label="Name" error=Signal::derive(|| None) value=current_name required=true/>
                                <TextArea id=format!("edit-{id}-description") name="description" label="Description" error=Signal::derive(|| None) value=current_description/>
                                <TextArea id=format!("edit-{id}-cidrs") name="allowed_cidrs" label="Allowed IP ranges" error=Signal::derive(|| None) value=current_cidrs hint="Empty: any address."/>
                                <Field id=format!("edit-{id}-rate") name="rate_limit_per_minute" label="Rate limit per minute" input_type="number" error=Signal::derive(|| None) value=current_rate hint="Empty: the organisation default."/>
                                <button type="submit" class="btn btn-primary btn-small">"Save"</button>
                            </ActionForm>
                        </Confirm>
                    }
                })}
                {restorable.then(|| {
                    let label = format!("Restore {name}");
                    view! {
                        <ActionForm action=actions.restore attr:class="inline-form">
                            <input type="hidden" name="id" value=id/>
                            <button type="submit" class="btn btn-small" aria-label=label>"Restore"</button>
                        </ActionForm>
                    }
                })}
                {deletable.then(|| {
                    let label = format!("Delete {name}");
                    let n = name.clone();
                    view! {
                        <Confirm label="Delete…".into() danger=true aria_label=label>
                            <ActionForm action=actions.delete>
                                <input type="hidden" name="id" value=id/>
                                <p>"Delete " <strong>{n}</strong> " for good? It disappears from every list; the audit log keeps the record."</p>
                                <button type="submit" class="btn btn-danger btn-small">"Yes, delete"</button>
                            </ActionForm>
                        </Confirm>
                    }
                })}
            </td>
        </tr>
    }
}
