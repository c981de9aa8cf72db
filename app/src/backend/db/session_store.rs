//! tower-sessions store over the same diesel-async pool as everything else, so sessions
//! survive restarts and are shared by every process on one PostgreSQL.
//!
//! The primary key is a SHA-256 of the session id: a leaked copy of the table cannot be
//! turned back into cookies. `user_id` is copied out of the data so that removing a user can
//! delete their sessions with one statement.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use super::Db;
use crate::backend::crypto::sha256_hex;
use crate::backend::repo::sessions as repo;

/// The session data key under which the signed-in user is kept (see `backend::auth`).
pub const AUTH_KEY: &str = "auth";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn key(id: &Id) -> String {
    sha256_hex(id.to_string().as_bytes())
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn user_of(record: &Record) -> Option<i64> {
    record
        .data
        .get(AUTH_KEY)
        .and_then(|v| v.get("user_id"))
        .and_then(serde_json::Value::as_i64)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut pooled = self.db.get_writer().await.map_err(backend)?;
        let mut conn = pooled.conn();
        // Ids are 128 random bits; a collision is astronomically unlikely but cheap to handle.
        for _ in 0..8 {
            let inserted = repo::insert_new(
                &mut conn,
                &key(&record.id),
                &data,
                record.expiry_date.unix_timestamp(),
                user_of(record),
            )
            .await
            .map_err(backend)?;
            if inserted {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a unique session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut pooled = self.db.get_writer().await.map_err(backend)?;
        repo::upsert(
            &mut pooled.conn(),
            &key(&record.id),
            &data,
            record.expiry_date.unix_timestamp(),
            user_of(record),
        )
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut pooled = self.db.get().await.map_err(backend)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let Some((data, expires_at)) = repo::load(&mut pooled.conn(), &key(id), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut pooled = self.db.get_writer().await.map_err(backend)?;
        repo::delete(&mut pooled.conn(), &key(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let mut pooled = self.db.get_writer().await.map_err(backend)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        repo::delete_expired(&mut pooled.conn(), now)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
