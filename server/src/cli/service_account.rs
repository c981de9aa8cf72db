use app::backend::auth::Principal;
use app::backend::service::accounts;
use app::domain::timefmt;

use crate::config::{Config, ServiceAccountCommand};

pub async fn run(config: &Config, cmd: ServiceAccountCommand) -> Result<(), String> {
    let state = super::state(config).await?;
    let operator = Principal::operator();
    match cmd {
        ServiceAccountCommand::Create {
            name,
            role,
            description,
        } => {
            let account = accounts::create(&state, &operator, &name, &description, &role)
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
        ServiceAccountCommand::List => {
            let mut rows = Vec::new();
            let mut page = 1;
            loop {
                let batch = accounts::list(&state, &operator, "", page)
                    .await
                    .map_err(|e| e.to_string())?;
                let pages = batch.pages();
                for a in batch.items {
                    rows.push(vec![
                        a.id.to_string(),
                        a.name,
                        a.role.as_str().to_string(),
                        if a.disabled_at.is_some() {
                            "disabled".into()
                        } else {
                            "active".into()
                        },
                        a.live_tokens.to_string(),
                        timefmt::exact(a.created_at),
                    ]);
                }
                if page >= pages {
                    break;
                }
                page += 1;
            }
            super::print_table(
                &["ID", "NAME", "ROLE", "STATUS", "LIVE TOKENS", "CREATED"],
                &rows,
            );
            Ok(())
        }
    }
}
