//! The data directory holds the SQLite database and the secret key: whoever reads them can
//! check guessed secrets offline (database plus key) or mint nothing but still read every
//! account, so only Keyward's own user may. The directory is created 0700 and the database
//! file 0600 (SQLite gives its `-wal` and `-shm` files the database file's mode); existing
//! ones that are looser are reported at start-up, not changed behind the operator's back.

use std::path::{Path, PathBuf};

/// Group or other may read, write or enter.
pub fn too_open(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// Creates the data directory (0700) and, for SQLite, the database file's directory (0700,
/// when it is elsewhere and missing) and an empty database file (0600), before SQLite or the
/// pool would create them with the process's umask.
pub fn prepare(dir: &Path, sqlite: Option<&Path>) -> std::io::Result<()> {
    prepare_dirs(dir, sqlite)?;
    if let Some(db) = sqlite {
        if !db.exists() {
            create_private_file(db)?;
        }
    }
    Ok(())
}

/// `prepare` without the database file: the directories only (0700, when missing).
pub fn prepare_dirs(dir: &Path, sqlite: Option<&Path>) -> std::io::Result<()> {
    if !dir.exists() {
        create_private_dir(dir)?;
    }
    if let Some(parent) = sqlite
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        if !parent.exists() {
            create_private_dir(parent)?;
        }
    }
    Ok(())
}

/// Every file Keyward keeps secret that anyone but its owner may read, with its mode.
pub fn loose(dir: &Path, sqlite: Option<&Path>) -> Vec<(PathBuf, u32)> {
    let mut paths = vec![
        dir.to_path_buf(),
        dir.join(app::backend::crypto::KEY_FILE_NAME),
    ];
    if let Some(db) = sqlite {
        paths.push(db.to_path_buf());
        for suffix in ["-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            paths.push(PathBuf::from(name));
        }
    }
    paths
        .into_iter()
        .filter_map(|p| mode_of(&p).filter(|m| too_open(*m)).map(|m| (p, m)))
        .collect()
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owner_bits_are_private() {
        assert!(!too_open(0o700));
        assert!(!too_open(0o600));
        assert!(too_open(0o755));
        assert!(too_open(0o644));
        assert!(too_open(0o640));
        assert!(too_open(0o602));
    }

    #[cfg(unix)]
    #[test]
    fn prepare_creates_private_directory_and_database_file() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("keyward-perm-{}", std::process::id()));
        let dir = base.join("data");
        let db = dir.join("keyward.db");
        prepare(&dir, Some(&db)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert!(loose(&dir, Some(&db)).is_empty());
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose(&dir, Some(&db)), vec![(db.clone(), 0o644)]);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[cfg(unix)]
    #[test]
    fn prepare_creates_a_missing_database_directory_private_too() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("keyward-dbdir-{}", std::process::id()));
        let dir = base.join("data");
        let db = base.join("elsewhere").join("deeper").join("keyward.db");
        prepare(&dir, Some(&db)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&base.join("elsewhere")), 0o700);
        assert_eq!(mode(db.parent().unwrap()), 0o700);
        assert_eq!(mode(&db), 0o600);
        let _ = std::fs::remove_dir_all(&base);
    }
}
