use app::backend::auth::Principal;
use app::backend::service::webhooks;
use app::domain::timefmt;
use serde::Serialize;

use crate::config::{Config, WebhookCommand};

/// One row of `webhook list --json` (stable field names; never the secret).
#[derive(Serialize)]
struct EndpointJson {
    id: i64,
    url: String,
    description: String,
    events: Vec<String>,
    enabled: bool,
    created_at: String,
    failing_since: Option<String>,
}

pub async fn run(config: &Config, cmd: WebhookCommand) -> Result<(), String> {
    let state = super::state(config).await?;
    let operator = Principal::operator();
    match cmd {
        WebhookCommand::Create {
            url,
            events,
            description,
        } => {
            let created = webhooks::create(
                &state,
                &operator,
                &url,
                &events,
                description.as_deref().unwrap_or(""),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("{}", created.secret.expose());
            eprintln!(
                "Created webhook endpoint {} for {} ({}). The signing secret above is shown once.",
                created.endpoint.id,
                created.endpoint.url,
                created.endpoint.events.join(", ")
            );
            Ok(())
        }
        WebhookCommand::List { json } => {
            let all = webhooks::list(&state, &operator)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let rows: Vec<EndpointJson> = all
                    .into_iter()
                    .map(|e| EndpointJson {
                        id: e.id,
                        url: e.url,
                        description: e.description,
                        events: e.events,
                        enabled: e.enabled,
                        created_at: timefmt::iso(e.created_at),
                        failing_since: e.failing_since.map(timefmt::iso),
                    })
                    .collect();
                return super::print_json(&rows);
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.url.clone(),
                        e.events.join(","),
                        if e.enabled { "enabled" } else { "disabled" }.to_string(),
                        e.failing_since
                            .map(|t| format!("failing since {}", timefmt::exact(t)))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            super::print_table(&["ID", "URL", "EVENTS", "STATUS", "HEALTH"], &rows);
            Ok(())
        }
    }
}
