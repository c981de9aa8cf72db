use app::backend::auth::Principal;
use app::backend::service::accounts;
use app::domain::timefmt;
use app::model::ServiceAccountView;
use serde::Serialize;

use crate::config::{Config, ServiceAccountCommand};

/// One row of `service-account list --json`. Its own type, so the field names stay stable
/// whatever the internal views become.
#[derive(Serialize)]
struct AccountJson {
    id: i64,
    name: String,
    description: String,
    role: &'static str,
    status: &'static str,
    live_tokens: i64,
    created_at: String,
    last_used_at: Option<String>,
}

fn status(a: &ServiceAccountView) -> &'static str {
    if a.disabled_at.is_some() {
        "disabled"
    } else {
        "active"
    }
}

pub async fn run(config: &Config, cmd: ServiceAccountCommand) -> Result<(), String> {
    let state = super::state(config).await?;
    let operator = Principal::operator();
    match cmd {
        ServiceAccountCommand::Create {
            name,
            role,
            description,
        } => {
            let account = accounts::create(
                &state,
                &operator,
                &name,
                description.as_deref().unwrap_or(""),
                role.as_str(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("{}", account.id);
            eprintln!(
                "Created service account {} ({}).",
                account.name,
                account.role.label()
            );
            Ok(())
        }
        ServiceAccountCommand::List { json } => {
            let mut all = Vec::new();
            let mut page = 1;
            loop {
                let batch = accounts::list(&state, &operator, "", page)
                    .await
                    .map_err(|e| e.to_string())?;
                let pages = batch.pages();
                all.extend(batch.items);
                if page >= pages {
                    break;
                }
                page += 1;
            }
            if json {
                let rows: Vec<AccountJson> = all
                    .into_iter()
                    .map(|a| AccountJson {
                        id: a.id,
                        status: status(&a),
                        role: a.role.as_str(),
                        live_tokens: a.live_tokens,
                        created_at: timefmt::iso(a.created_at),
                        last_used_at: a.last_used_at.map(timefmt::iso),
                        name: a.name,
                        description: a.description,
                    })
                    .collect();
                return super::print_json(&rows);
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|a| {
                    vec![
                        a.id.to_string(),
                        a.name.clone(),
                        a.role.as_str().to_string(),
                        status(a).to_string(),
                        a.live_tokens.to_string(),
                        timefmt::exact(a.created_at),
                    ]
                })
                .collect();
            super::print_table(
                &["ID", "NAME", "ROLE", "STATUS", "LIVE TOKENS", "CREATED"],
                &rows,
            );
            Ok(())
        }
        ServiceAccountCommand::Disable { name } => set_enabled(&state, &name, false).await,
        ServiceAccountCommand::Enable { name } => set_enabled(&state, &name, true).await,
    }
}

async fn set_enabled(
    state: &app::backend::state::AppState,
    name: &str,
    enabled: bool,
) -> Result<(), String> {
    let account = accounts::find_by_name(state, name)
        .await
        .map_err(|e| e.to_string())?;
    let was_enabled = account.disabled_at.is_none();
    let view = accounts::set_enabled(state, &Principal::operator(), account.id, enabled)
        .await
        .map_err(|e| e.to_string())?;
    let what = if enabled { "enabled" } else { "disabled" };
    if was_enabled == enabled {
        eprintln!("Service account {} was already {what}.", view.name);
    } else if enabled {
        eprintln!(
            "Enabled service account {}: its {} live token(s) work again.",
            view.name, view.live_tokens
        );
    } else {
        eprintln!(
            "Disabled service account {}: its tokens stop working now.",
            view.name
        );
    }
    Ok(())
}
