//! `/tokens`: every token of every account (Admins) or every service-account token (Power
//! Users). The whole view (search, filters, sort, page, page size) lives in the URL query, so
//! it survives reload and back/forward, can be bookmarked, shared and saved, and works
//! without JavaScript (a GET form, links for sorting and pages).

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_location;

use crate::api::token_table::{
    count_live_matching, list_org_tokens, list_saved_searches, DeleteSavedSearch, RevokeMatching,
    RevokeSelected, SaveSearch,
};
use crate::api::tokens::RevokeToken;
use crate::components::badges::{KindIcon, RoleBadge, StatusBadge};
use crate::components::confirm::Confirm;
use crate::components::form::{action_error, action_ok, Field, FormError, Submit};
use crate::components::layout::{
    me as signed_in, user_resource, Empty, ErrorPanel, Loading, PageHeader,
};
use crate::components::pagination::Pagination;
use crate::components::time::{Expiry, MaybeTime, RelTime};
use crate::domain::policy;
use crate::domain::token_format::TokenKind;
use crate::domain::token_query::{
    SortColumn, TokenQuery, Usage, COUNT_CAP, DEFAULT_USAGE_DAYS, PAGE_SIZES,
};
use crate::model::{SavedSearchView, TokenStatus, TokenView};

#[derive(Clone, Copy)]
struct TableActions {
    revoke: ServerAction<RevokeToken>,
    selected: ServerAction<RevokeSelected>,
    matching: ServerAction<RevokeMatching>,
}

impl TableActions {
    fn version(&self) -> usize {
        self.revoke.version().get() + self.selected.version().get() + self.matching.version().get()
    }
}

fn href(q: &TokenQuery) -> String {
    let qs = q.to_query_string();
    if qs.is_empty() {
        "/tokens".into()
    } else {
        format!("/tokens?{qs}")
    }
}

#[component]
pub fn TokenTablePage() -> impl IntoView {
    let user = user_resource();
    let location = use_location();
    // The canonical query string of the view: the key of every resource below.
    let view_qs =
        Memo::new(move |_| TokenQuery::from_query_string(&location.search.get()).to_query_string());
    let actions = TableActions {
        revoke: ServerAction::new(),
        selected: ServerAction::new(),
        matching: ServerAction::new(),
    };
    let save = ServerAction::<SaveSearch>::new();
    let delete_saved = ServerAction::<DeleteSavedSearch>::new();
    let page = Resource::new(
        move || (view_qs.get(), actions.version()),
        |(qs, _)| list_org_tokens(Some(qs)),
    );
    let live = Resource::new(
        move || (view_qs.get(), actions.version()),
        |(qs, _)| async move {
            if TokenQuery::from_query_string(&qs).has_filters() {
                count_live_matching(Some(qs)).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let saved = Resource::new(
        move || (save.version().get(), delete_saved.version().get()),
        |_| list_saved_searches(),
    );
    let revoked_selected = action_ok(actions.selected);
    let revoked_matching = action_ok(actions.matching);

    view! {
        <PageHeader
            title="Tokens".into()
            subtitle="Every token of every account: sort, search, filter, and act on many at once.".into()
        />
        <Suspense fallback=|| view! { <Loading what="tokens"/> }>
            {move || Suspend::new(async move {
                let me = signed_in(user).await;
                if policy::token_table_scope(me.role).is_none() {
                    return view! {
                        <ErrorPanel error=crate::errors::AppError::forbidden("The organisation-wide token table is for Power Users and Admins. Your own tokens are under My tokens.")/>
                    }
                    .into_any();
                }
                let personal_hidden = me.role != crate::domain::Role::Admin;
                view! {
                    <div class="with-sidebar">
                        <aside class="sidebar" aria-labelledby="saved-heading">
                            <SavedSearches saved=saved save=save delete=delete_saved view_qs=view_qs/>
                        </aside>
                        <div class="main-column">
                            <Filters view_qs=view_qs personal_hidden=personal_hidden/>
                            <div class="table-tools">
                                <a class="btn" href=move || format!("/tokens/export.csv?{}", TokenQuery::from_query_string(&view_qs.get()).without_page().to_query_string()) download>
                                    "Export CSV"
                                </a>
                            </div>
                            {move || revoked_selected.get().map(|n| view! { <div class="alert alert-success" role="status">{format!("Revoked {n} token{}.", if n == 1 { "" } else { "s" })}</div> })}
                            {move || revoked_matching.get().map(|n| view! { <div class="alert alert-success" role="status">{format!("Revoked {n} matching token{}.", if n == 1 { "" } else { "s" })}</div> })}
                            <FormError error=action_error(actions.revoke)/>
                            <FormError error=action_error(actions.selected)/>
                            <FormError error=action_error(actions.matching)/>
                            <Transition fallback=|| view! { <Loading what="tokens"/> }>
                                {move || Suspend::new(async move {
                                    let q = TokenQuery::from_query_string(&view_qs.get_untracked());
                                    let live = live.await.ok().flatten();
                                    match page.await {
                                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                                        Ok(p) => view! { <Table page=p query=q live=live actions=actions/> }.into_any(),
                                    }
                                })}
                            </Transition>
                        </div>
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn Filters(view_qs: Memo<String>, personal_hidden: bool) -> impl IntoView {
    move || {
        let q = TokenQuery::from_query_string(&view_qs.get());
        let (usage, days) = match q.usage {
            Usage::Any => ("", String::new()),
            Usage::Never => ("never", String::new()),
            Usage::UnusedFor(d) => ("unused", d.to_string()),
            Usage::UsedWithin(d) => ("used", d.to_string()),
        };
        let owner_type = q.owner_type.map(|k| k.as_str()).unwrap_or("");
        let expiring = q.expiring_within.map(|d| d.to_string()).unwrap_or_default();
        view! {
            <Form method="GET" action="/tokens" attr:class="filters-panel panel" attr:role="search" attr:aria-label="Filter tokens">
                <div class="filters-grid">
                    <div class="field wide">
                        <label for="tt-q">"Search"</label>
                        <input id="tt-q" type="search" name="q" value=q.q.clone() placeholder="Token name, prefix, owner or description"/>
                    </div>
                    {(!personal_hidden).then(|| view! {
                        <div class="field">
                            <label for="tt-type">"Owner type"</label>
                            <select id="tt-type" name="type">
                                <option value="" selected=owner_type.is_empty()>"Any"</option>
                                <option value="service_account" selected=owner_type == "service_account">"Service account"</option>
                                <option value="personal" selected=owner_type == "personal">"User"</option>
                            </select>
                        </div>
                    })}
                    <fieldset class="field checkboxes">
                        <legend>"Status"</legend>
                        {TokenStatus::ALL.into_iter().map(|s| {
                            let (id, for_id) = (format!("tt-status-{}", s.as_str()), format!("tt-status-{}", s.as_str()));
                            view! {
                                <label for=for_id>
                                    <input type="checkbox" id=id name="status" value=s.as_str() checked=q.statuses.contains(&s)/>
                                    {s.label()}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <div class="field">
                        <label for="tt-usage">"Usage"</label>
                        <select id="tt-usage" name="usage">
                            <option value="" selected=usage.is_empty()>"Any"</option>
                            <option value="never" selected=usage == "never">"Never used"</option>
                            <option value="unused" selected=usage == "unused">"Not used for more than N days"</option>
                            <option value="used" selected=usage == "used">"Used within N days"</option>
                        </select>
                    </div>
                    <div class="field narrow">
                        <label for="tt-days">"N (days)"</label>
                        <input id="tt-days" type="number" name="days" min="1" max="3650" value=days placeholder=DEFAULT_USAGE_DAYS.to_string()/>
                    </div>
                    <div class="field">
                        <label for="tt-expiring">"Expiring within"</label>
                        <select id="tt-expiring" name="expiring">
                            <option value="" selected=expiring.is_empty()>"Any time"</option>
                            <option value="7" selected=expiring == "7">"7 days"</option>
                            <option value="30" selected=expiring == "30">"30 days"</option>
                        </select>
                    </div>
                    <div class="field wide">
                        <label for="tt-owner">"Owners"</label>
                        <input id="tt-owner" type="text" name="owner" value=q.owners.join(", ") placeholder="ci_bot, ada@example.com"/>
                    </div>
                    <div class="field">
                        <label for="tt-from">"Created from"</label>
                        <input id="tt-from" type="date" name="created_from" value=q.created_from.clone().unwrap_or_default()/>
                    </div>
                    <div class="field">
                        <label for="tt-to">"Created to"</label>
                        <input id="tt-to" type="date" name="created_to" value=q.created_to.clone().unwrap_or_default()/>
                    </div>
                    <div class="field narrow">
                        <label for="tt-size">"Per page"</label>
                        <select id="tt-size" name="size">
                            {PAGE_SIZES.into_iter().map(|n| view! { <option value=n.to_string() selected=n == q.per_page>{n}</option> }).collect_view()}
                        </select>
                    </div>
                </div>
                <input type="hidden" name="sort" value=q.sort.as_str()/>
                <input type="hidden" name="dir" value=if q.desc { "desc" } else { "asc" }/>
                <div class="filters-actions">
                    <button type="submit" class="btn btn-primary">"Apply"</button>
                    <a class="btn btn-ghost" href="/tokens">"Clear all"</a>
                </div>
            </Form>
        }
    }
}

#[component]
fn SavedSearches(
    saved: Resource<Result<Vec<SavedSearchView>, crate::errors::AppError>>,
    save: ServerAction<SaveSearch>,
    delete: ServerAction<DeleteSavedSearch>,
    view_qs: Memo<String>,
) -> impl IntoView {
    let save_error = action_error(save);
    let delete_error = action_error(delete);
    view! {
        <h2 id="saved-heading" class="sidebar-title">"Saved searches"</h2>
        <FormError error=delete_error/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match saved.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted small">"None yet. Filter the table, then save the view below."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="saved-list">
                            {list.into_iter().map(|s| {
                                let link = if s.query.is_empty() { "/tokens".to_string() } else { format!("/tokens?{}", s.query) };
                                let label = format!("Delete saved search {}", s.name);
                                view! {
                                    <li>
                                        <a href=link>{s.name.clone()}</a>
                                        {s.shared.then(|| view! { <span class="tag" title="Shared with the team">"shared"</span> })}
                                        {(!s.mine).then(|| view! { <div class="muted small">{format!("by {}", s.owner)}</div> })}
                                        {s.mine.then(|| view! {
                                            <ActionForm action=delete attr:class="inline-form">
                                                <input type="hidden" name="id" value=s.id/>
                                                <button type="submit" class="btn btn-small btn-ghost" aria-label=label>"Delete"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                }
            })}
        </Transition>
        <details class="save-search" open=save_error.with_untracked(Option::is_some)>
            <summary class="btn btn-small">"Save this view…"</summary>
            <ActionForm action=save attr:class="stack">
                <FormError error=save_error fields=&["name"]/>
                <input type="hidden" name="query" value=move || view_qs.get()/>
                <Field id="save-search-name".into() name="name" label="Name" error=save_error required=true maxlength=80 placeholder="Unused for 90 days"/>
                <div class="field checkbox">
                    <input type="checkbox" id="save-search-shared" name="shared" value="true"/>
                    <label for="save-search-shared">"Share with the team"</label>
                </div>
                <Submit label="Save" busy_label="Saving…" pending=save.pending().into()/>
            </ActionForm>
        </details>
    }
}

fn aria_sort(q: &TokenQuery, column: SortColumn) -> &'static str {
    match (q.sort == column, q.desc) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    }
}

#[component]
fn SortHeader(query: TokenQuery, column: SortColumn, label: &'static str) -> impl IntoView {
    let target = href(&query.sorted_by(column));
    let arrow = match (query.sort == column, query.desc) {
        (false, _) => "",
        (true, false) => " ▲",
        (true, true) => " ▼",
    };
    view! {
        <th scope="col" aria-sort=aria_sort(&query, column)>
            <a href=target class="sort-link">{label}<span aria-hidden="true">{arrow}</span></a>
        </th>
    }
}

#[component]
fn Table(
    page: crate::model::TokenTablePage,
    query: TokenQuery,
    live: Option<i64>,
    actions: TableActions,
) -> impl IntoView {
    let total_text = if page.capped {
        format!("More than {COUNT_CAP} tokens match; the first {COUNT_CAP} can be paged through. Narrow the filter to see the rest.")
    } else {
        format!(
            "{} token{} match.",
            page.total,
            if page.total == 1 { "" } else { "s" }
        )
    };
    if page.items.is_empty() && query.page > 1 {
        let first = href(&query.with_page(1));
        return view! {
            <Empty title="No tokens on this page">
                <p>{format!("Page {} is past the last page of this view.", query.page)}</p>
                <p><a href=first>"Go to the first page"</a></p>
            </Empty>
        }
        .into_any();
    }
    if page.items.is_empty() {
        return view! {
            <Empty title=if query.has_filters() { "No tokens match these filters" } else { "No tokens yet" }>
                <p>{if query.has_filters() { "Change or clear the filters." } else { "Tokens appear here once service accounts or people create them." }}</p>
                {query.has_filters().then(|| view! { <p><a href="/tokens">"Clear all filters"</a></p> })}
            </Empty>
        }
        .into_any();
    }
    let q_for_pages = query.clone();
    let (current, pages, total) = (page.page, page.pages(), page.total);
    let matching_qs = query.without_page().to_query_string();
    view! {
        <p class="result-count" role="status">{total_text}</p>
        <div class="bulk-bar">
            <ActionForm action=actions.selected attr:id="bulk-revoke" attr:class="inline-form">
                <Confirm label="Revoke selected…".into() danger=true>
                    <p>"Revoke every selected token? Anything using them stops working at once."</p>
                    <button type="submit" class="btn btn-danger btn-small">"Yes, revoke selected"</button>
                </Confirm>
            </ActionForm>
            {live.filter(|n| *n > COUNT_CAP).map(|_| view! {
                <p class="hint">{format!("More than {COUNT_CAP} live tokens match. Narrow the filters to revoke them in bulk ({COUNT_CAP} at a time at most).")}</p>
            })}
            {live.filter(|n| *n > 0 && *n <= COUNT_CAP).map(|n| view! {
                <Confirm label=format!("Revoke all {n} matching…") danger=true>
                    <ActionForm action=actions.matching>
                        <input type="hidden" name="query" value=matching_qs.clone()/>
                        <input type="hidden" name="expected" value=n/>
                        <p>
                            {format!("This revokes {n} live token{} matching the current filters, in one step. Anything using them stops working at once.", if n == 1 { "" } else { "s" })}
                        </p>
                        <button type="submit" class="btn btn-danger btn-small">{format!("Revoke {n} token{}", if n == 1 { "" } else { "s" })}</button>
                    </ActionForm>
                </Confirm>
            })}
        </div>
        <div class="table-wrap">
            <table class="data-table token-table">
                <caption class="sr-only">"Tokens, sortable by column"</caption>
                <thead>
                    <tr>
                        <th scope="col"><span class="sr-only">"Select"</span></th>
                        <SortHeader query=query.clone() column=SortColumn::Name label="Name"/>
                        <SortHeader query=query.clone() column=SortColumn::Prefix label="Token"/>
                        <SortHeader query=query.clone() column=SortColumn::Owner label="Owner"/>
                        <SortHeader query=query.clone() column=SortColumn::OwnerType label="Owner type"/>
                        <SortHeader query=query.clone() column=SortColumn::Role label="Role"/>
                        <SortHeader query=query.clone() column=SortColumn::Created label="Created"/>
                        <SortHeader query=query.clone() column=SortColumn::Expires label="Expires"/>
                        <SortHeader query=query.clone() column=SortColumn::LastUsed label="Last used"/>
                        <SortHeader query=query.clone() column=SortColumn::Status label="Status"/>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {page.items.into_iter().map(|t| view! { <Row token=t actions=actions/> }).collect_view()}
                </tbody>
            </table>
        </div>
        <Pagination
            page=current
            pages=pages
            total=total
            href=Callback::new(move |n: i64| href(&q_for_pages.with_page(n)))
        />
    }
    .into_any()
}

#[component]
fn Row(token: TokenView, actions: TableActions) -> impl IntoView {
    let id = token.id;
    let revocable = token.revoked_at.is_none();
    let select_label = format!("Select {} ({})", token.name, token.owner.name);
    let revoke_label = format!("Revoke {} of {}", token.name, token.owner.name);
    let name = token.name.clone();
    let owner_href = token.owner.href();
    view! {
        <tr id=format!("token-{id}") data-token-name=token.name.clone()>
            <td>
                {revocable.then(|| view! {
                    <input type="checkbox" name="ids[]" value=id form="bulk-revoke" aria-label=select_label/>
                })}
            </td>
            <td>
                <div class="token-name"><KindIcon kind=token.kind/><strong><a href=format!("/tokens/{id}")>{token.name.clone()}</a></strong></div>
                {(!token.description.is_empty()).then(|| view! { <div class="muted small">{token.description.clone()}</div> })}
            </td>
            <td><code class="prefix">{format!("{}…", token.display_prefix)}</code></td>
            <td>
                {if token.owner.gone {
                    view! { <span>{token.owner.name.clone()}</span><div class="muted small">"deleted"</div> }.into_any()
                } else {
                    view! { <a href=owner_href>{token.owner.name.clone()}</a> }.into_any()
                }}
            </td>
            <td>{match token.kind { TokenKind::ServiceAccount => "Service account", TokenKind::Personal => "User" }}</td>
            <td><RoleBadge role=token.role/></td>
            <td><RelTime ts=token.created_at/><div class="muted small">{format!("by {}", token.created_by)}</div></td>
            <td><Expiry expires_at=token.expires_at/></td>
            <td>
                <MaybeTime ts=token.last_used_at none="Never"/>
                {token.last_used_ip.clone().map(|ip| view! { <div class="muted small">{ip}</div> })}
            </td>
            <td><StatusBadge status=token.status/></td>
            <td class="row-actions">
                {revocable.then(|| view! {
                    <Confirm label="Revoke…".into() danger=true aria_label=revoke_label>
                        <ActionForm action=actions.revoke>
                            <input type="hidden" name="id" value=id/>
                            <p>"Revoke " <strong>{name}</strong> "? Anything using it stops working immediately."</p>
                            <button type="submit" class="btn btn-danger btn-small">"Yes, revoke"</button>
                        </ActionForm>
                    </Confirm>
                })}
            </td>
        </tr>
    }
}
