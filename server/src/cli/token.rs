use app::backend::auth::Principal;
use app::backend::repo;
use app::backend::service::{accounts, now, tokens};
use app::domain::timefmt;
use app::model::TokenView;

use crate::config::{Config, TokenCommand};

pub async fn run(config: &Config, cmd: TokenCommand) -> Result<(), String> {
    let state = super::state(config).await?;
    let operator = Principal::operator();
    match cmd {
        TokenCommand::Create {
            service_account,
            name,
            expires_in,
            description,
            sliding,
            allowed_cidrs,
            rate_limit,
        } => {
            let account = accounts::find_by_name(&state, &service_account)
                .await
                .map_err(|e| e.to_string())?;
            let created = tokens::create(
                &state,
                &operator,
                tokens::Owner::ServiceAccount(account.id),
                tokens::NewTokenInput {
                    description: &description,
                    sliding,
                    allowed_cidrs: &allowed_cidrs,
                    rate_limit_per_minute: &rate_limit,
                    ..tokens::NewTokenInput::simple(&name, tokens::ExpiryInput::Text(&expires_in))
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            // The secret alone on standard output, so `$(keyward token create …)` captures it.
            println!("{}", created.secret.expose());
            eprintln!(
                "Created token {} ({}) for {}; expires: {}. Store it now: it is not shown again.",
                created.token.name,
                created.token.display_prefix,
                account.name,
                created
                    .token
                    .expires_at
                    .map(timefmt::exact)
                    .unwrap_or_else(|| "never".into())
            );
            Ok(())
        }
        TokenCommand::List { service_account } => {
            let list: Vec<TokenView> = match service_account {
                Some(name) => {
                    let account = accounts::find_by_name(&state, &name)
                        .await
                        .map_err(|e| e.to_string())?;
                    tokens::list(&state, &operator, tokens::Owner::ServiceAccount(account.id))
                        .await
                        .map_err(|e| e.to_string())?
                }
                None => {
                    let mut pooled = state.db.get().await.map_err(|e| e.to_string())?;
                    let now = now();
                    repo::tokens::list_all(&mut pooled.conn(), 100_000)
                        .await
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .map(|t| tokens::to_view(t, now))
                        .collect()
                }
            };
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.display_prefix,
                        t.name,
                        t.owner.name,
                        t.status.as_str().to_string(),
                        t.expires_at
                            .map(timefmt::exact)
                            .unwrap_or_else(|| "never".into()),
                        t.last_used_at
                            .map(timefmt::exact)
                            .unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect();
            super::print_table(
                &[
                    "ID",
                    "PREFIX",
                    "NAME",
                    "OWNER",
                    "STATUS",
                    "EXPIRES",
                    "LAST USED",
                ],
                &rows,
            );
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let token = tokens::revoke(&state, &operator, id)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "Revoked token {} ({}) of {}.",
                token.name, token.display_prefix, token.owner.name
            );
            Ok(())
        }
    }
}
