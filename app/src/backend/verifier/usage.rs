//! Token usage, written behind: verification only touches memory; a background task hands
//! the batch to the store every few seconds (and at shutdown). Per token it keeps the latest
//! use (time, IP, user agent), for the audit log a count of requests per minute (the log
//! gets one `token.api_use` event per token per minute with the number of requests), for the
//! usage history a count per UTC day, and the most recent distinct client addresses (at most
//! `domain::usage::RECENT_IPS` per token, with first and last seen and the user agent).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::TokenStore;
use crate::domain::usage::{day_of, RECENT_IPS};
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

/// One client address a token was used from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenIp {
    pub ip: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub user_agent: Option<String>,
}

/// What a flush writes: per token its latest use, per (token, minute) and per (token, UTC
/// day, as midnight's Unix time) a request count, and per token its latest client addresses.
#[derive(Debug, Clone, Default)]
pub struct UsageBatch {
    pub last: HashMap<i64, LastUse>,
    pub minutes: HashMap<(i64, i64), MinuteCount>,
    pub days: HashMap<(i64, i64), i64>,
    pub ips: HashMap<i64, Vec<SeenIp>>,
}

/// Adds a sighting to a token's addresses, keeping the `RECENT_IPS` seen last.
fn note_ip(ips: &mut Vec<SeenIp>, seen: SeenIp) {
    if let Some(known) = ips.iter_mut().find(|k| k.ip == seen.ip) {
        known.first_seen = known.first_seen.min(seen.first_seen);
        if seen.last_seen >= known.last_seen {
            known.last_seen = seen.last_seen;
            known.user_agent = seen.user_agent;
        }
        return;
    }
    ips.push(seen);
    if ips.len() > RECENT_IPS {
        if let Some(oldest) = ips
            .iter()
            .enumerate()
            .min_by_key(|(_, k)| k.last_seen)
            .map(|(i, _)| i)
        {
            ips.swap_remove(oldest);
        }
    }
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
        if let Some(ip) = &u.ip {
            note_ip(
                batch.ips.entry(u.token_id).or_default(),
                SeenIp {
                    ip: ip.clone(),
                    first_seen: u.at,
                    last_seen: u.at,
                    user_agent: user_agent.clone(),
                },
            );
        }
        *batch.days.entry((u.token_id, day_of(u.at))).or_insert(0) += 1;
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
                for (k, n) in batch.days {
                    *current.days.entry(k).or_insert(0) += n;
                }
                for (id, seen) in batch.ips {
                    let known = current.ips.entry(id).or_default();
                    for s in seen {
                        note_ip(known, s);
                    }
                }
            }
            return Err(e);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(r: &UsageRecorder, at: i64, ip: &str, ua: &str) {
        r.record(Use {
            token_id: 7,
            at,
            ip: Some(ip.to_string()),
            user_agent: Some(ua),
            actor: "bot via token kwsa_x",
            display_prefix: "kwsa_x",
        });
    }

    #[test]
    fn counts_per_day_and_keeps_the_latest_addresses() {
        let r = UsageRecorder::default();
        let day = 86_400 * 20_000;
        for i in 0..6 {
            record(&r, day + i, &format!("10.0.0.{i}"), &format!("ua-{i}"));
        }
        record(&r, day + 86_400 + 5, "10.0.0.5", "ua-new");
        let batch = r.batch.lock().unwrap().clone();
        assert_eq!(batch.days.get(&(7, day)), Some(&6));
        assert_eq!(batch.days.get(&(7, day + 86_400)), Some(&1));
        let ips = &batch.ips[&7];
        assert_eq!(ips.len(), RECENT_IPS);
        assert!(!ips.iter().any(|k| k.ip == "10.0.0.0"), "the oldest went");
        let five = ips.iter().find(|k| k.ip == "10.0.0.5").unwrap();
        assert_eq!(
            (five.first_seen, five.last_seen, five.user_agent.as_deref()),
            (day + 5, day + 86_405, Some("ua-new"))
        );
    }
}
