//! Token usage, written behind: verification only touches memory; a background task hands
//! the batch to the store every few seconds (and at shutdown). Per token it keeps the latest
//! use (time, IP, user agent) and, for the audit log, a count of requests per minute: the log
//! gets one `token.api_use` event per token per minute with the number of requests.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::TokenStore;
use crate::errors::AppError;

/// Flush early when this many tokens have pending usage.
const FLUSH_SOON_AT: usize = 10_000;
const UA_MAX: usize = 200;

#[derive(Debug, Clone)]
pub struct LastUse {
    pub at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MinuteCount {
    pub requests: i64,
    pub actor: String,
    pub target: String,
    pub ip: Option<String>,
}

/// What a flush writes: per token its latest use, and per (token, minute) a request count.
#[derive(Debug, Clone, Default)]
pub struct UsageBatch {
    pub last: HashMap<i64, LastUse>,
    pub minutes: HashMap<(i64, i64), MinuteCount>,
}

#[derive(Default)]
pub struct UsageRecorder {
    batch: Mutex<UsageBatch>,
    flush_soon: Notify,
}

pub struct Use<'a> {
    pub token_id: i64,
    pub at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<&'a str>,
    /// Who, for the audit log ("ci_bot via token kwsa_AbCd1234").
    pub actor: &'a str,
    pub display_prefix: &'a str,
}

impl UsageRecorder {
    pub fn record(&self, u: Use<'_>) {
        let Ok(mut batch) = self.batch.lock() else {
            return;
        };
        let user_agent = u
            .user_agent
            .map(|ua| ua.chars().take(UA_MAX).collect::<String>());
        batch.last.insert(
            u.token_id,
            LastUse {
                at: u.at,
                ip: u.ip.clone(),
                user_agent,
            },
        );
        let minute = u.at.div_euclid(60) * 60;
        let entry = batch
            .minutes
            .entry((u.token_id, minute))
            .or_insert_with(|| MinuteCount {
                requests: 0,
                actor: u.actor.to_string(),
                target: u.display_prefix.to_string(),
                ip: u.ip.clone(),
            });
        entry.requests += 1;
        if batch.last.len() >= FLUSH_SOON_AT {
            self.flush_soon.notify_one();
        }
    }

    pub async fn wanted(&self) {
        self.flush_soon.notified().await;
    }

    pub fn pending(&self) -> usize {
        self.batch.lock().map(|b| b.last.len()).unwrap_or(0)
    }

    /// Hands everything recorded so far to the store, in one transaction. On failure the
    /// batch is put back (merged with whatever arrived meanwhile) for the next attempt.
    pub async fn flush(&self, store: &dyn TokenStore) -> Result<usize, AppError> {
        let batch = match self.batch.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(_) => return Ok(0),
        };
        if batch.last.is_empty() && batch.minutes.is_empty() {
            return Ok(0);
        }
        let written = batch.last.len();
        if let Err(e) = store.write_usage(&batch).await {
            if let Ok(mut current) = self.batch.lock() {
                for (id, u) in batch.last {
                    let keep = current.last.get(&id).is_none_or(|newer| newer.at < u.at);
                    if keep {
                        current.last.insert(id, u);
                    }
                }
                for (k, m) in batch.minutes {
                    current
                        .minutes
                        .entry(k)
                        .and_modify(|c| c.requests += m.requests)
                        .or_insert(m);
                }
            }
            return Err(e);
        }
        Ok(written)
    }
}
