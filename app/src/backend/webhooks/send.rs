//! One HTTP attempt: signed, to the checked address, no proxy, no redirect, 10 s, and only the
//! status code kept from the answer (at most 64 KiB of the body is read, then dropped).

use std::time::{Duration, Instant};

use super::guard;
use super::sign::signature;
use crate::domain::webhook::validate_url;
use crate::domain::Sensitive;

pub const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY_READ: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The response's status code, if one came.
    pub status: Option<u16>,
    /// The class of failure when none came (`timeout`, `connect`, `refused_address`, ...).
    pub error: Option<&'static str>,
    pub latency_ms: i64,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

pub struct Message<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub body: &'a str,
    pub secret: &'a Sensitive,
}

pub async fn send(msg: &Message<'_>, allow_private: bool) -> Attempt {
    let started = Instant::now();
    let done = |status: Option<u16>, error: Option<&'static str>| Attempt {
        status,
        error,
        latency_ms: started.elapsed().as_millis() as i64,
    };
    let Ok(url) = validate_url(msg.url, true) else {
        return done(None, Some("invalid_url"));
    };
    let addr = match guard::resolve(&url, allow_private).await {
        Ok(addr) => addr,
        Err(e) => return done(None, Some(e.class())),
    };
    if !url.https && !allow_private {
        return done(None, Some("https_required"));
    }
    let Some(sig) = signature(msg.secret, msg.id, msg.timestamp, msg.body) else {
        return done(None, Some("secret"));
    };
    let client = match reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("Keyward-Webhooks/", env!("CARGO_PKG_VERSION")))
        // Connect to the address that was checked, whatever DNS says now.
        .resolve(&url.host, addr)
        .build()
    {
        Ok(c) => c,
        Err(_) => return done(None, Some("client")),
    };
    let sent = client
        .post(msg.url)
        .header("content-type", "application/json")
        .header("webhook-id", msg.id)
        .header("webhook-timestamp", msg.timestamp.to_string())
        .header("webhook-signature", sig)
        .body(msg.body.to_string())
        .send()
        .await;
    match sent {
        Ok(mut res) => {
            let status = res.status().as_u16();
            let mut read = 0;
            while read < MAX_BODY_READ {
                match res.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            done(Some(status), None)
        }
        Err(e) if e.is_timeout() => done(None, Some("timeout")),
        Err(e) if e.is_connect() => done(None, Some("connect")),
        Err(_) => done(None, Some("request")),
    }
}
