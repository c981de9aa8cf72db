//! `keyward backup` and `keyward restore`: the SQLite database copied out while the server
//! runs, and put back while it is stopped. The checks (key, schema, a server still running)
//! live in `app::backend::db::backup`; this module adds the data directory and the key.

use std::path::Path;

use app::backend::crypto::ServerKey;
use app::backend::db::backup;
use app::backend::db::DatabaseUrl;

use crate::config::Config;

pub async fn backup(config: &Config, path: &Path) -> Result<(), String> {
    let url = DatabaseUrl::parse(&config.database_url()).map_err(|e| e.to_string())?;
    if let DatabaseUrl::Postgres(_) = url {
        return Err(backup::BackupError::Postgres.to_string());
    }
    // The server's own start-up: migrations, and the key checked against (or, on a database
    // that never had one, recorded as) the fingerprint a restore will compare with.
    let state = super::state(config).await?;
    let bytes = backup::backup(&state.db, path)
        .await
        .map_err(|e| e.to_string())?;
    state.db.close();
    eprintln!(
        "Backed up the database to {} ({bytes} bytes, mode 0600; key fingerprint {}). It holds \
         every token hash: keep it as private as the secret key, and keep the key too (apart): \
         `keyward restore` needs the same key.",
        path.display(),
        state.key.fingerprint()
    );
    Ok(())
}

pub async fn restore(config: &Config, path: &Path) -> Result<(), String> {
    let url = DatabaseUrl::parse(&config.database_url()).map_err(|e| e.to_string())?;
    let DatabaseUrl::Sqlite(target) = &url else {
        return Err(backup::RestoreError::Postgres.to_string());
    };
    // Only directories are created here: a refused restore leaves no database file behind.
    crate::data_dir::prepare_dirs(&config.data_dir, Some(target)).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let key = ServerKey::load_existing(config.secret_key.as_deref(), &config.data_dir)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "no secret key: a backup can only be restored with the key it was made with. Set \
                 KEYWARD_SECRET_KEY or KEYWARD_SECRET_KEY_FILE, or put the original secret.key in \
                 {}. Nothing was changed",
                config.data_dir.display()
            )
        })?;
    let applied = backup::restore(&url, path, &key)
        .await
        .map_err(|e| e.to_string())?;
    for v in &applied {
        eprintln!("applied {v}");
    }
    eprintln!(
        "Restored {} into {}. Start the server.",
        path.display(),
        target.display()
    );
    Ok(())
}
