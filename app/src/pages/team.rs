use leptos::prelude::*;

use crate::api::team::{
    list_team, ChangeMemberRole, InviteMember, RemoveMember, ResetMemberLink, ResetSecondFactor,
    SetMemberActive,
};
use crate::components::badges::{RoleBadge, UserStatusBadge};
use crate::components::confirm::Confirm;
use crate::components::form::{
    action_error, action_ok, nojs_value, Field, FormError, Select, Submit,
};
use crate::components::layout::{
    me as signed_in, user_resource, ErrorPanel, Loading, PageHeader, WithMe,
};
use crate::components::reveal::{Reveal, SecretReveal};
use crate::components::time::{MaybeTime, RelTime};
use crate::domain::{policy, Role};
use crate::model::CurrentUser;
use crate::model::{UserStatus, UserView};

#[derive(Clone, Copy)]
struct TeamActions {
    role: ServerAction<ChangeMemberRole>,
    active: ServerAction<SetMemberActive>,
    remove: ServerAction<RemoveMember>,
    link: ServerAction<ResetMemberLink>,
    second_factor: ServerAction<ResetSecondFactor>,
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let user = user_resource();
    let invite = ServerAction::<InviteMember>::new();
    let actions = TeamActions {
        role: ServerAction::new(),
        active: ServerAction::new(),
        remove: ServerAction::new(),
        link: ServerAction::new(),
        second_factor: ServerAction::new(),
    };
    let members = Resource::new(
        move || {
            (
                invite.version().get(),
                actions.role.version().get(),
                actions.active.version().get(),
                actions.remove.version().get(),
                actions.link.version().get(),
                actions.second_factor.version().get(),
            )
        },
        |_| list_team(),
    );
    let invited = action_ok(invite);
    let relinked = action_ok(actions.link);
    let reveal = Signal::derive(move || {
        invited
            .get()
            .or_else(|| relinked.get())
            .map(|i| Reveal {
                title: "Send this set-password link".into(),
                subject: format!(
                    "One-time link for {} ({}). It works once and expires in 3 days; send it over a channel you trust.",
                    i.user.email,
                    i.user.role.label()
                ),
                secret: i.link,
                noun: "link",
            })
    });
    let close = Callback::new(move |_| {
        invite.value().set(None);
        actions.link.value().set(None);
    });
    let errors = [
        action_error(actions.role),
        action_error(actions.active),
        action_error(actions.remove),
        action_error(actions.link),
        action_error(actions.second_factor),
    ];
    view! {
        // First in the page: without JavaScript it is the top of the page rendered once.
        <SecretReveal reveal=reveal on_close=close close_href="/team".to_string()/>
        <PageHeader title="Team".into() subtitle="People who can sign in to Keyward, and their roles.".into()/>
        <WithMe children=move |me: CurrentUser| view! { <InvitePanel me=me invite=invite/> }/>
        {errors.into_iter().map(|e| view! { <FormError error=e/> }).collect_view()}
        <Transition fallback=|| view! { <Loading what="team"/> }>
            {move || Suspend::new(async move {
                let me = signed_in(user).await;
                let (is_admin, me_id) = (policy::can_manage_team(me.role), me.id);
                match members.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="data-table">
                                <caption class="sr-only">"Team members"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Member"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Last sign-in"</th>
                                        <th scope="col">"Live tokens"</th>
                                        <th scope="col">"Added"</th>
                                        {is_admin.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! { <MemberRow user=u is_admin=is_admin me_id=me_id actions=actions/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberRow(user: UserView, is_admin: bool, me_id: i64, actions: TeamActions) -> impl IntoView {
    let id = user.id;
    let itself = id == me_id;
    let email = user.email.clone();
    let role_label = format!("Role of {email}");
    let (deactivate_label, reactivate_label, link_label, remove_label) = (
        format!("Deactivate {email}"),
        format!("Reactivate {email}"),
        format!("New set-password link for {email}"),
        format!("Remove {email}"),
    );
    let (email_deactivate, email_remove, email_reset) =
        (email.clone(), email.clone(), email.clone());
    let reset_label = format!("Reset two-step sign-in of {email}");
    let active = user.status != UserStatus::Deactivated;
    view! {
        <tr id=format!("user-{id}")>
            <td>
                <strong>{if user.display_name.is_empty() { user.email.clone() } else { user.display_name.clone() }}</strong>
                {itself.then(|| view! { <span class="muted">" (you)"</span> })}
                {user.second_factor.then(|| view! { " " <span class="badge status-active" title="Signs in with a password and an authenticator app">"2-step"</span> })}
                <div class="muted small">{user.email.clone()}</div>
            </td>
            <td>
                {if is_admin && !itself {
                    view! {
                        <ActionForm action=actions.role attr:class="inline-form">
                            <input type="hidden" name="id" value=id/>
                            <label class="sr-only" for=format!("role-{id}")>{role_label}</label>
                            <select id=format!("role-{id}") name="role">
                                {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == user.role>{r.label()}</option> }).collect_view()}
                            </select>
                            <button type="submit" class="btn btn-small">"Change"</button>
                        </ActionForm>
                    }
                    .into_any()
                } else {
                    view! { <RoleBadge role=user.role/> }.into_any()
                }}
            </td>
            <td><UserStatusBadge status=user.status/></td>
            <td><MaybeTime ts=user.last_login_at none="Never"/></td>
            <td>{user.live_tokens}</td>
            <td><RelTime ts=user.created_at/></td>
            {(is_admin).then(|| view! {
                <td class="row-actions">
                    {(!itself).then(|| if active {
                        view! {
                            <Confirm label="Deactivate…".into() aria_label=deactivate_label>
                                <ActionForm action=actions.active>
                                    <input type="hidden" name="id" value=id/>
                                    <input type="hidden" name="active" value="false"/>
                                    <p>"Deactivate " <strong>{email_deactivate}</strong> "? They are signed out and their personal tokens stop working until reactivated."</p>
                                    <button type="submit" class="btn btn-danger btn-small">"Yes, deactivate"</button>
                                </ActionForm>
                            </Confirm>
                        }
                        .into_any()
                    } else {
                        view! {
                            <ActionForm action=actions.active attr:class="inline-form">
                                <input type="hidden" name="id" value=id/>
                                <input type="hidden" name="active" value="true"/>
                                <button type="submit" class="btn btn-small" aria-label=reactivate_label>"Reactivate"</button>
                            </ActionForm>
                        }
                        .into_any()
                    })}
                    <ActionForm action=actions.link attr:class="inline-form">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="btn btn-small" aria-label=link_label>"New link"</button>
                    </ActionForm>
                    {(!itself && user.second_factor).then(|| view! {
                        <Confirm label="Reset 2-step…".into() aria_label=reset_label>
                            <ActionForm action=actions.second_factor>
                                <input type="hidden" name="id" value=id/>
                                <p>"Reset two-step sign-in for " <strong>{email_reset}</strong> "? Their authenticator app and recovery codes stop working; they sign in with their password alone until they set up an app again."</p>
                                <button type="submit" class="btn btn-danger btn-small">"Yes, reset"</button>
                            </ActionForm>
                        </Confirm>
                    })}
                    {(!itself).then(|| view! {
                        <Confirm label="Remove…".into() danger=true aria_label=remove_label>
                            <ActionForm action=actions.remove>
                                <input type="hidden" name="id" value=id/>
                                <p>"Remove " <strong>{email_remove}</strong> " for good? Their personal tokens are revoked and cannot be restored."</p>
                                <button type="submit" class="btn btn-danger btn-small">"Yes, remove"</button>
                            </ActionForm>
                        </Confirm>
                    })}
                </td>
            })}
        </tr>
    }
}

#[component]
fn InvitePanel(me: CurrentUser, invite: ServerAction<InviteMember>) -> impl IntoView {
    let invite_error = action_error(invite);
    let open = invite_error.with_untracked(Option::is_some);
    policy::can_manage_team(me.role).then(|| {
        view! {
            <details class="panel create-panel" open=open>
                <summary class="btn btn-primary">"Add team member"</summary>
                <ActionForm action=invite attr:class="stack">
                    <FormError error=invite_error fields=&["email", "display_name", "role"]/>
                    <Field id="invite-email".into() name="email" label="E-mail address" input_type="email" required=true error=invite_error autocomplete="off" value={nojs_value::<InviteMember>("email").unwrap_or_default()}/>
                    <Field id="invite-name".into() name="display_name" label="Name (optional)" error=invite_error value={nojs_value::<InviteMember>("display_name").unwrap_or_default()}/>
                    <Select
                        id="invite-role".into()
                        name="role"
                        label="Role"
                        error=invite_error
                        options=Role::ALL.iter().map(|r| (r.as_str().to_string(), format!("{} — {}", r.label(), r.describe()))).collect()
                        selected=Role::Viewer.as_str()
                    />
                    <p class="hint">"You get a one-time link for them to set their password."</p>
                    <Submit label="Add member" busy_label="Adding…" pending=invite.pending().into()/>
                </ActionForm>
            </details>
        }
    })
}
