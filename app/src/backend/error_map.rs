//! Server-side failures turned into `AppError`: the one place where an unexpected error is
//! logged (once, with a reference the user can quote) and hidden behind a generic message.

use crate::backend::db::DbError;
use crate::errors::AppError;

/// Logs an unexpected failure and returns what the user sees instead.
pub fn internal(context: &str, error: &dyn std::fmt::Display) -> AppError {
    let reference = crate::backend::crypto::random_base62(10);
    tracing::error!(%reference, context, %error, "unexpected failure");
    AppError::Internal { reference }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "database busy or unreachable");
            return AppError::Unavailable;
        }
        internal("database", &e)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(DbError::Query(e))
    }
}
