//! Where a webhook may be sent: the host is resolved once, every address it resolves to is
//! checked against `domain::webhook::refused_ip`, and the request then connects to the
//! address that was checked (no second lookup an attacker's DNS could answer differently).

use std::net::{IpAddr, SocketAddr};

use crate::domain::webhook::{refused_ip, EndpointUrl};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the host name does not resolve")]
    Unresolvable,
    #[error("the address is not allowed ({0}); set KEYWARD_WEBHOOK_ALLOW_PRIVATE=1 to send to private networks")]
    Refused(&'static str),
}

impl TargetError {
    /// The class shown in the delivery log.
    pub fn class(&self) -> &'static str {
        match self {
            TargetError::Unresolvable => "dns",
            TargetError::Refused(_) => "refused_address",
        }
    }
}

/// The address to connect to. With `allow_private`, any resolved address is fine.
pub async fn resolve(url: &EndpointUrl, allow_private: bool) -> Result<SocketAddr, TargetError> {
    let addrs: Vec<SocketAddr> = match url.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, url.port)],
        // Bounded like the request itself: a resolver that never answers must not hold an
        // attempt (and its lease) forever.
        Err(_) => tokio::time::timeout(
            super::send::TIMEOUT,
            tokio::net::lookup_host((url.host.as_str(), url.port)),
        )
        .await
        .map_err(|_| TargetError::Unresolvable)?
        .map_err(|_| TargetError::Unresolvable)?
        .collect(),
    };
    if !allow_private {
        // Any refused address refuses the host: which one a client would pick is not ours
        // to guess.
        if let Some(why) = addrs.iter().find_map(|a| refused_ip(a.ip())) {
            return Err(TargetError::Refused(why));
        }
    }
    addrs.into_iter().next().ok_or(TargetError::Unresolvable)
}
