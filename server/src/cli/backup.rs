//! `keyward backup` and `keyward restore`: the SQLite database copied out while the server
//! runs, and put back while it is stopped. The checks (key, schema, a server still running)
//! live in `app::backend::db::backup`; this module adds the data directory and the key.

use std::path::Path;

use app::backend::crypto::ServerKey;
use app::backend::db::backup;
use app::backend::db::{DatabaseUrl, Db, PoolOptions};
use app::backend::repo;

use crate::config::Config;

pub async fn backup(config: &Config, path: &Path) -> Result<(), String> {
    let url = DatabaseUrl::parse(&config.database_url()).map_err(|e| e.to_string())?;
    let DatabaseUrl::Sqlite(db_path) = &url else {
        return Err(backup::BackupError::Postgres.to_string());
    };
    // Not the server's start-up: that would create a missing database (and key) and back up
    // an empty one after a typo in KEYWARD_DATA_DIR, or migrate the live database under a
    // running older server. A backup only reads what is there.
    if !db_path.is_file() {
        return Err(format!(
            "there is no database at {}: check KEYWARD_DATA_DIR or DATABASE_URL. Nothing was \
             written",
            db_path.display()
        ));
    }
    let key = ServerKey::load_existing(config.secret_key.as_deref(), &config.data_dir)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            "no secret key (KEYWARD_SECRET_KEY, KEYWARD_SECRET_KEY_FILE or secret.key in the \
             data directory): a backup is only useful with the key it was made with. Nothing \
             was written"
                .to_string()
        })?;
    let db = Db::connect(&url, &PoolOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let stored = {
        let mut pooled = db.get().await.map_err(|e| e.to_string())?;
        repo::settings::get(&mut pooled.conn(), repo::settings::KEY_FINGERPRINT)
            .await
            .map_err(|e| e.to_string())?
    };
    match stored {
        Some(f) if f == key.fingerprint() => {}
        Some(_) => {
            return Err(
                "the configured secret key is not this database's: a backup made \
                 with it could never be restored. Nothing was written"
                    .to_string(),
            )
        }
        None => {
            return Err(
                "this database has no key fingerprint yet: start Keyward on it once \
                 (it records one), then back it up. Nothing was written"
                    .to_string(),
            )
        }
    }
    let bytes = backup::backup(&db, path).await.map_err(|e| e.to_string())?;
    db.close();
    eprintln!(
        "Backed up the database to {} ({bytes} bytes, mode 0600; key fingerprint {}). It holds \
         every token hash: keep it as private as the secret key, and keep the key too (apart): \
         `keyward restore` needs the same key.",
        path.display(),
        key.fingerprint()
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
