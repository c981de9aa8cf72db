//! The client's IP address: the socket peer, or, when the peer is a configured trusted proxy,
//! the right-most address in `X-Forwarded-For` that is not itself a trusted proxy (the left
//! part of that header is whatever the client chose to send).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use app::backend::auth::ClientIp;
use app::backend::state::AppState;

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    if let Some(ip) = resolve(peer, forwarded, &state.config.trusted_proxies) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// Whether `ip` (the socket peer) is one of the configured proxies.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = normalize(ip);
    trusted.iter().any(|n| n.contains(&ip))
}

pub fn resolve(peer: Option<IpAddr>, forwarded: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = normalize(peer?);
    let is_trusted = |ip: &IpAddr| is_trusted(*ip, trusted);
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in forwarded.unwrap_or_default().rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = normalize(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_taken_as_they_are() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(Some(ip("8.8.8.8")), Some("1.2.3.4"), &trusted),
            Some(ip("8.8.8.8"))
        );
        assert_eq!(resolve(Some(ip("8.8.8.8")), None, &[]), Some(ip("8.8.8.8")));
        assert_eq!(resolve(None, Some("1.2.3.4"), &trusted), None);
    }

    #[test]
    fn trusted_proxies_pass_on_the_first_untrusted_hop_from_the_right() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(Some(ip("10.0.0.1")), Some("1.2.3.4"), &trusted),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            resolve(
                Some(ip("10.0.0.1")),
                Some("6.6.6.6, 1.2.3.4, 10.0.0.7"),
                &trusted
            ),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            resolve(Some(ip("10.0.0.1")), Some("garbage"), &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            resolve(Some(ip("::ffff:8.8.4.4")), None, &trusted),
            Some(ip("8.8.4.4"))
        );
    }
}
