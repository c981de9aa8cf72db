//! Which backend `DATABASE_URL` names. An unknown scheme is a start-up error, never a silent
//! fall-back to SQLite.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("DATABASE_URL is empty; unset it to use the SQLite file in the data directory, or give a sqlite:// or postgres:// URL")]
    Empty,
    #[error("DATABASE_URL uses the unsupported scheme `{0}`: Keyward supports sqlite://PATH (or a plain file path) and postgres://USER@HOST/DATABASE")]
    UnsupportedScheme(String),
    #[error("DATABASE_URL `sqlite://` needs a file path, for example sqlite://./data/keyward.db")]
    MissingSqlitePath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if let Some((scheme, rest)) = raw.split_once("://") {
            return match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => Ok(DatabaseUrl::Postgres(raw.to_string())),
                "sqlite" => {
                    if rest.is_empty() {
                        Err(DatabaseUrlError::MissingSqlitePath)
                    } else {
                        Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)))
                    }
                }
                other => Err(DatabaseUrlError::UnsupportedScheme(other.to_string())),
            };
        }
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            return if rest.is_empty() {
                Err(DatabaseUrlError::MissingSqlitePath)
            } else {
                Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)))
            };
        }
        // `scheme:something` that is not a path (a path has no colon before its first slash)
        if let Some((scheme, _)) = raw.split_once(':') {
            if !scheme.contains('/') && !scheme.contains('\\') && scheme.len() > 1 {
                return Err(DatabaseUrlError::UnsupportedScheme(scheme.to_string()));
            }
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(raw)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password removed, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("****"));
                    }
                    u.to_string()
                }
                Err(_) => "postgres://(unparseable)".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/k.db").unwrap(),
            DatabaseUrl::Sqlite("./data/k.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/k.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/k.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:k.db").unwrap(),
            DatabaseUrl::Sqlite("k.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("/tmp/k.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/k.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("data/k.db").unwrap(),
            DatabaseUrl::Sqlite("data/k.db".into())
        );
    }

    #[test]
    fn postgres_urls() {
        for url in ["postgres://u@h/db", "postgresql://u:p@h:5432/db"] {
            assert_eq!(
                DatabaseUrl::parse(url).unwrap(),
                DatabaseUrl::Postgres(url.into())
            );
        }
        assert_eq!(
            DatabaseUrl::parse("postgres://u:secret@h/db")
                .unwrap()
                .redacted(),
            "postgres://u:****@h/db"
        );
    }

    #[test]
    fn unknown_schemes_are_errors() {
        assert_eq!(
            DatabaseUrl::parse("mysql://root@localhost/k"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("postgress:foo"),
            Err(DatabaseUrlError::UnsupportedScheme("postgress".into()))
        );
        assert_eq!(DatabaseUrl::parse(""), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingSqlitePath)
        );
        assert!(DatabaseUrl::parse("mysql://x")
            .unwrap_err()
            .to_string()
            .contains("sqlite://"));
    }
}
