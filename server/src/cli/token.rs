use app::backend::auth::Principal;
use app::backend::repo;
use app::backend::service::{accounts, now, tokens};
use app::domain::timefmt;
use app::model::TokenView;
use serde::Serialize;

use crate::config::{Config, TokenCommand};

/// One row of `token list --json`: metadata only, never a secret or a hash. Its own type, so
/// the field names stay stable whatever the internal views become.
#[derive(Serialize)]
struct TokenJson {
    id: i64,
    prefix: String,
    name: String,
    kind: &'static str,
    owner: String,
    owner_kind: &'static str,
    role: &'static str,
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl From<TokenView> for TokenJson {
    fn from(t: TokenView) -> Self {
        TokenJson {
            id: t.id,
            prefix: t.display_prefix,
            name: t.name,
            kind: t.kind.as_str(),
            owner: t.owner.name,
            owner_kind: t.owner.kind.as_str(),
            role: t.role.as_str(),
            status: t.status.as_str(),
            created_at: timefmt::iso(t.created_at),
            expires_at: t.expires_at.map(timefmt::iso),
            last_used_at: t.last_used_at.map(timefmt::iso),
            revoked_at: t.revoked_at.map(timefmt::iso),
        }
    }
}

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
                    description: description.as_deref().unwrap_or(""),
                    sliding,
                    allowed_cidrs: allowed_cidrs.as_deref().unwrap_or(""),
                    rate_limit_per_minute: rate_limit.as_deref().unwrap_or(""),
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
        TokenCommand::List {
            service_account,
            json,
        } => {
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
            if json {
                let rows: Vec<TokenJson> = list.into_iter().map(TokenJson::from).collect();
                return super::print_json(&rows);
            }
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
        TokenCommand::Rotate { id, grace } => {
            let rotated = tokens::rotate(&state, &operator, id, &grace)
                .await
                .map_err(|e| e.to_string())?;
            // The new secret alone on standard output, as `token create` prints it.
            println!("{}", rotated.secret.expose());
            eprintln!(
                "Rotated token {} ({}) of {}; the old secret {}. Store the new one now: it is \
                 not shown again.",
                rotated.token.name,
                rotated.token.display_prefix,
                rotated.token.owner.name,
                match rotated.token.previous_secret_expires_at {
                    Some(at) => format!("works until {}", timefmt::exact(at)),
                    None => "stopped working".into(),
                }
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
