//! Running it in production: backup and restore through the real binary while a server is
//! writing, settings read from files, and the systemd unit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::StatusCode;

use crate::harness::{keyward, keyward_env, Backend, Client, Proc, TestDb, PASSWORD};

backends!(backup_under_load_restores_every_token, settings_from_files);

/// `GET /api/v1/whoami` with a token: the status and the error code, if any.
async fn whoami(base: &str, secret: &str) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/v1/whoami"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::harness::read(res).await;
    (
        status,
        body["code"].as_str().unwrap_or_default().to_string(),
    )
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Tokens created through the API by a signed-in Admin, one new account each (two writes),
/// until `stop`; each secret with the moment its creation was confirmed.
async fn write_load(
    client: Client,
    stop: Arc<AtomicBool>,
    made: Arc<Mutex<Vec<(String, Instant)>>>,
) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = crate::harness::create_account(&client, &format!("load_{i:04}"), "viewer").await;
        let (_, secret) = crate::harness::create_token(&client, id, "load").await;
        made.lock().unwrap().push((secret, Instant::now()));
        i += 1;
    }
}

async fn backup_under_load_restores_every_token(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = keyward(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let backup = db.data_dir.join("nightly.kwbackup");
    let backup_arg = backup.to_str().unwrap();
    if b == Backend::Postgres {
        // PostgreSQL has its own tools; the commands say which, and touch nothing.
        let (ok, out, err) = keyward(&db, &["backup", backup_arg], None);
        assert!(!ok && out.is_empty(), "{out}");
        assert!(
            err.contains("pg_dump") && err.contains("KEYWARD_SECRET_KEY"),
            "{err}"
        );
        let (ok, _, err) = keyward(&db, &["restore", backup_arg], None);
        assert!(!ok && err.contains("pg_restore"), "{err}");
        assert!(!backup.exists());
        return;
    }

    let (ok, _, err) = keyward(
        &db,
        &["user", "create", "--admin", "--email", "ops@example.com"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = keyward(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "viewer",
        ],
        None,
    );
    assert!(ok, "{err}");
    let mut before = Vec::new();
    for i in 0..5 {
        let name = format!("deploy_{i}");
        let (ok, out, err) = keyward(
            &db,
            &[
                "token",
                "create",
                "--service-account",
                "ci_bot",
                "--name",
                &name,
            ],
            None,
        );
        assert!(ok, "{err}");
        before.push(out.trim().to_string());
    }
    // Some bulk, so that the copy takes a moment of its own.
    let (ok, _, err) = keyward(
        &db,
        &["dev", "seed", "--tokens", "5000", "--accounts", "50"],
        None,
    );
    assert!(ok, "{err}");

    let mut server = Proc::serve(&db, &[]).await;
    let admin = Client::new(server.base());
    let (status, body) = admin.login("ops@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(Mutex::new(Vec::new()));
    let load = tokio::spawn(write_load(admin.clone(), stop.clone(), made.clone()));
    let warmed = crate::harness::eventually(std::time::Duration::from_secs(10), || async {
        made.lock().unwrap().len() >= 3
    })
    .await;
    assert!(warmed, "the write load did not start");

    let started = Instant::now();
    let made_before = made.lock().unwrap().len();
    let (ok, out, err) = tokio::task::spawn_blocking({
        let db_url = db.url.clone();
        let data_dir = db.data_dir.clone();
        let arg = backup_arg.to_string();
        move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
                .args(["backup", &arg])
                .env("KEYWARD_DATA_DIR", data_dir)
                .env("DATABASE_URL", db_url)
                .env("KEYWARD_LOG", "warn")
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    })
    .await
    .unwrap();
    let finished = Instant::now();
    assert!(ok, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("mode 0600"), "{err}");
    // The load went on while the backup ran.
    let ok_later = crate::harness::eventually(std::time::Duration::from_secs(10), || async {
        made.lock().unwrap().len() >= made_before + 3
    })
    .await;
    assert!(ok_later, "writes stopped during the backup");
    stop.store(true, Ordering::Relaxed);
    load.await.expect("the write load never failed");
    assert_eq!(mode(&backup), 0o600, "the backup is private");

    // Never over an existing file.
    let size = std::fs::metadata(&backup).unwrap().len();
    let (ok, _, err) = keyward(&db, &["backup", backup_arg], None);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::metadata(&backup).unwrap().len(), size);
    server.stop();

    // A fresh machine: restoring needs the key the backup was made with.
    let fresh = TestDb::new(Backend::Sqlite).await;
    let restored_db = fresh.data_dir.join("keyward.db");
    let key_file = db.data_dir.join("secret.key");
    let key_file = key_file.to_str().unwrap();
    // A backup of a data directory holding no database (a typo in KEYWARD_DATA_DIR) refuses
    // and creates nothing: no empty database, no key, no backup.
    let typo_backup = fresh.data_dir.join("typo-backup.db");
    let (ok, _, err) = keyward(&fresh, &["backup", typo_backup.to_str().unwrap()], None);
    assert!(!ok && err.contains("there is no database"), "{err}");
    assert!(!restored_db.exists() && !typo_backup.exists());
    assert!(
        !fresh.data_dir.join("secret.key").exists(),
        "a key was made"
    );
    let (ok, _, err) = keyward(&fresh, &["restore", backup_arg], None);
    assert!(!ok && err.contains("no secret key"), "{err}");
    let other_key = "ab".repeat(32);
    let (ok, _, err) = keyward_env(
        &fresh,
        &["restore", backup_arg],
        None,
        &[("KEYWARD_SECRET_KEY", &other_key)],
    );
    assert!(!ok, "restored with another key");
    assert!(
        err.contains("different secret key") && err.contains("Nothing was changed"),
        "{err}"
    );
    assert!(!err.contains(&other_key), "{err}");
    assert!(
        !restored_db.exists(),
        "a refused restore left a database behind"
    );
    let junk = fresh.data_dir.join("notes.txt");
    std::fs::write(&junk, "not a database at all").unwrap();
    let (ok, _, err) = keyward_env(
        &fresh,
        &["restore", junk.to_str().unwrap()],
        None,
        &[("KEYWARD_SECRET_KEY_FILE", key_file)],
    );
    assert!(!ok && err.contains("not a SQLite database"), "{err}");

    let (ok, _, err) = keyward_env(
        &fresh,
        &["restore", backup_arg],
        None,
        &[("KEYWARD_SECRET_KEY_FILE", key_file)],
    );
    assert!(ok, "{err}");
    assert_eq!(
        mode(&restored_db),
        0o600,
        "the restored database is private"
    );
    let leftovers: Vec<String> = std::fs::read_dir(&fresh.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let mut restored = Proc::serve(&fresh, &[("KEYWARD_SECRET_KEY_FILE", key_file)]).await;
    for secret in &before {
        assert_eq!(
            whoami(&restored.base(), secret).await,
            (StatusCode::OK, String::new()),
            "a token from before the backup does not verify"
        );
    }
    let made = made.lock().unwrap().clone();
    let (earlier, later): (Vec<_>, Vec<_>) = made.iter().partition(|(_, at)| *at < started);
    assert!(earlier.len() >= 3);
    for (secret, _) in earlier {
        assert_eq!(whoami(&restored.base(), secret).await.0, StatusCode::OK);
    }
    // The backup is one snapshot: what was made after it finished is not in it.
    let after: Vec<_> = later.iter().filter(|(_, at)| *at > finished).collect();
    assert!(!after.is_empty());
    for (secret, _) in after {
        assert_eq!(
            whoami(&restored.base(), secret).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".to_string())
        );
    }

    // While a server runs on the database, a restore is refused and changes nothing.
    let (ok, _, err) = keyward_env(
        &fresh,
        &["restore", backup_arg],
        None,
        &[("KEYWARD_SECRET_KEY_FILE", key_file)],
    );
    assert!(!ok && err.contains("in use"), "{err}");
    assert_eq!(whoami(&restored.base(), &before[0]).await.0, StatusCode::OK);
    restored.stop();
}

/// KEYWARD_SECRET_KEY_FILE and DATABASE_URL_FILE: read without their trailing newline,
/// refused beside their plain variable, and an unreadable file is named, never shown.
async fn settings_from_files(b: Backend) {
    let db = TestDb::new(b).await;
    let dir = db.data_dir.join("credentials");
    std::fs::create_dir_all(&dir).unwrap();
    let url_file = dir.join("database-url");
    std::fs::write(&url_file, format!("{}\n", db.url)).unwrap();
    let key = "0123456789abcdef".repeat(4);
    let key_file = dir.join("secret-key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let url_arg = url_file.to_str().unwrap();
    let key_arg = key_file.to_str().unwrap();

    // Both from files, no DATABASE_URL at all: the command works on the database.
    let from_files = [
        ("DATABASE_URL", ""),
        ("DATABASE_URL_FILE", url_arg),
        ("KEYWARD_SECRET_KEY_FILE", key_arg),
    ];
    let (ok, _, err) = keyward_env(
        &db,
        &[
            "service-account",
            "create",
            "--name",
            "ci_bot",
            "--role",
            "viewer",
        ],
        None,
        &from_files,
    );
    assert!(ok, "{err}");
    let (ok, secret, err) = keyward_env(
        &db,
        &[
            "token",
            "create",
            "--service-account",
            "ci_bot",
            "--name",
            "deploy",
        ],
        None,
        &from_files,
    );
    assert!(ok, "{err}");
    // The key came from the file: a server given the same key as a value accepts the token.
    assert!(
        !db.data_dir.join("secret.key").exists(),
        "a key was generated"
    );
    let server = Proc::serve(&db, &[("KEYWARD_SECRET_KEY", &key)]).await;
    assert_eq!(
        whoami(&server.base(), secret.trim()).await.0,
        StatusCode::OK
    );
    drop(server);

    // A value and its file together: which one wins would be a guess.
    let (ok, _, err) = keyward_env(
        &db,
        &["migrate"],
        None,
        &[
            ("KEYWARD_SECRET_KEY", &key),
            ("KEYWARD_SECRET_KEY_FILE", key_arg),
        ],
    );
    assert!(!ok, "both were accepted");
    assert!(
        err.contains("KEYWARD_SECRET_KEY (--secret-key)")
            && err.contains("KEYWARD_SECRET_KEY_FILE")
            && !err.contains(&key),
        "{err}"
    );
    let (ok, _, err) = keyward_env(&db, &["migrate"], None, &[("DATABASE_URL_FILE", url_arg)]);
    assert!(
        !ok && err.contains("DATABASE_URL_FILE") && err.contains("both"),
        "{err}"
    );
    // The flag form conflicts the same way.
    let (ok, _, err) = keyward(&db, &["migrate", "--database-url-file", url_arg], None);
    assert!(
        !ok && err.contains("DATABASE_URL (--database-url)"),
        "{err}"
    );

    // Unreadable or empty: the variable and the path, never the content.
    let missing = dir.join("missing");
    let (ok, _, err) = keyward_env(
        &db,
        &["migrate"],
        None,
        &[("KEYWARD_SECRET_KEY_FILE", missing.to_str().unwrap())],
    );
    assert!(!ok, "a missing key file was accepted");
    assert!(
        err.contains("KEYWARD_SECRET_KEY_FILE") && err.contains(missing.to_str().unwrap()),
        "{err}"
    );
    let (ok, _, err) = keyward_env(
        &db,
        &["migrate"],
        None,
        &[
            ("DATABASE_URL", ""),
            ("DATABASE_URL_FILE", dir.to_str().unwrap()),
        ],
    );
    assert!(
        !ok && err.contains("DATABASE_URL_FILE") && err.contains("cannot read"),
        "{err}"
    );
    let empty = dir.join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let (ok, _, err) = keyward_env(
        &db,
        &["migrate"],
        None,
        &[("KEYWARD_SECRET_KEY_FILE", empty.to_str().unwrap())],
    );
    assert!(!ok && err.contains("is empty"), "{err}");
}

/// `contrib/keyward.service` passes `systemd-analyze verify` and keeps its hardening.
#[test]
fn systemd_unit_verifies() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contrib/keyward.service"
    ))
    .unwrap();
    for line in [
        "DynamicUser=yes",
        "StateDirectory=keyward",
        "StateDirectoryMode=0700",
        "UMask=0077",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "Environment=KEYWARD_DATA_DIR=%S/keyward",
        "Environment=KEYWARD_SECRET_KEY_FILE=%d/secret_key",
        "ExecStart=/usr/local/bin/keyward serve",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    assert!(unit
        .lines()
        .any(|l| l.starts_with("LoadCredential=secret_key:")));
    assert!(unit
        .lines()
        .any(|l| l.starts_with("RestrictAddressFamilies=")));

    let Ok(analyze) = which("systemd-analyze") else {
        let required = std::env::var("KEYWARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
            || std::env::var("CI").is_ok_and(|v| !v.is_empty());
        if required {
            panic!("systemd-analyze is missing (Debian: apt-get install systemd; scripts/test installs it)");
        }
        eprintln!("skipped: systemd-analyze is not installed (apt-get install systemd)");
        return;
    };
    // `verify` checks that ExecStart's binary exists: point it at the one just built.
    let dir = std::env::temp_dir().join(format!(
        "keyward-unit-{}",
        app::backend::crypto::random_base62(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keyward.service");
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=/usr/local/bin/keyward serve",
            &format!("ExecStart={} serve", env!("CARGO_BIN_EXE_keyward")),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // Unknown or misspelt settings are only warnings ("…, ignoring"): none may concern ours.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("keyward.service"))
        .collect();
    assert!(
        ours.is_empty(),
        "systemd-analyze warns:\n{}",
        ours.join("\n")
    );
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .ok_or(())
}
