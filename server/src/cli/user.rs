use std::io::{BufRead, IsTerminal};

use app::backend::auth::Principal;
use app::backend::service::{login, second_factor, team};
use app::domain::{timefmt, Role, Sensitive};

use crate::config::{Config, UserCommand};

pub async fn run(config: &Config, cmd: UserCommand) -> Result<(), String> {
    match cmd {
        UserCommand::Create {
            email,
            admin,
            role,
            name,
        } => {
            let role = if admin {
                Role::Admin
            } else {
                role.unwrap_or(Role::Viewer)
            };
            let state = super::state(config).await?;
            let password = read_password()?;
            let user = team::create_with_password(
                &state,
                &Principal::operator(),
                &email,
                name.as_deref().unwrap_or(""),
                role,
                password,
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "Created {} ({}). They can sign in at {}",
                user.email,
                user.role.label(),
                state.config.link("/login")
            );
            Ok(())
        }
        UserCommand::Unlock { email } => {
            let state = super::state(config).await?;
            let cleared = login::unlock(&state, &Principal::operator(), &email)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("Cleared {cleared} failed sign-in(s) for {email}.");
            Ok(())
        }
        UserCommand::ResetSecondFactor { email } => {
            let state = super::state(config).await?;
            second_factor::reset_by_email(&state, &Principal::operator(), &email)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "Removed the authenticator app and recovery codes of {email}; they sign in with \
                 their password alone until they set up a new app."
            );
            Ok(())
        }
        UserCommand::SetPasswordLink { email } => {
            let state = super::state(config).await?;
            let link = team::reset_link_by_email(&state, &Principal::operator(), &email)
                .await
                .map_err(|e| e.to_string())?;
            // The link alone on standard output, like a token's secret.
            println!("{}", link.link.expose());
            eprintln!(
                "Set-password link for {}, valid until {}; earlier links no longer work. It \
                 signs them in: pass it on privately.",
                link.user.email,
                timefmt::exact(link.expires_at)
            );
            Ok(())
        }
    }
}

/// From a prompt without echo on a terminal; otherwise the first line of standard input.
fn read_password() -> Result<Sensitive, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")
            .map_err(|e| e.to_string())?;
        let again =
            rpassword::prompt_password("Repeat the password: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords do not match".into());
        }
        Ok(Sensitive::new(first))
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            return Err("no password on standard input".into());
        }
        Ok(Sensitive::new(password))
    }
}
