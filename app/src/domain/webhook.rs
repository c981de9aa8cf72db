//! Webhook rules that need neither network nor database: event names, the endpoint URL's
//! shape, which addresses outbound requests refuse (SSRF), and the retry schedule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FieldError;

/// Every event type an endpoint can subscribe to. Stable strings: receivers switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TokenCreated,
    TokenRotated,
    TokenRevoked,
    TokenLeakReported,
    TokenExpiring,
    TokenExpired,
    ServiceAccountDisabled,
    ServiceAccountDeleted,
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::TokenCreated,
        EventType::TokenRotated,
        EventType::TokenRevoked,
        EventType::TokenLeakReported,
        EventType::TokenExpiring,
        EventType::TokenExpired,
        EventType::ServiceAccountDisabled,
        EventType::ServiceAccountDeleted,
        EventType::WebhookTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TokenCreated => "token.created",
            EventType::TokenRotated => "token.rotated",
            EventType::TokenRevoked => "token.revoked",
            EventType::TokenLeakReported => "token.leak_reported",
            EventType::TokenExpiring => "token.expiring",
            EventType::TokenExpired => "token.expired",
            EventType::ServiceAccountDisabled => "service_account.disabled",
            EventType::ServiceAccountDeleted => "service_account.deleted",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The subscription list as typed (comma- or space-separated; `*` or `all` means every
/// event). Returns the canonical list, without duplicates, in `EventType::ALL` order.
/// `webhook.test` is always delivered (the "Send test event" button) and need not be listed.
pub fn parse_events(text: &str) -> Result<Vec<EventType>, FieldError> {
    let mut wanted = Vec::new();
    for item in text
        .split([',', ' ', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if item == "*" || item.eq_ignore_ascii_case("all") {
            return Ok(EventType::ALL.to_vec());
        }
        let Some(e) = EventType::parse(item) else {
            return Err(FieldError::new(
                "events",
                format!(
                    "“{item}” is not an event. Events: {}.",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            ));
        };
        wanted.push(e);
    }
    if wanted.is_empty() {
        return Err(FieldError::new("events", "Choose at least one event."));
    }
    Ok(EventType::ALL
        .into_iter()
        .filter(|e| wanted.contains(e))
        .collect())
}

pub fn format_events(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub const MAX_URL_CHARS: usize = 2000;

/// The parts of an endpoint URL the delivery needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    pub https: bool,
    /// The host as written (brackets removed from an IPv6 literal).
    pub host: String,
    pub port: u16,
}

/// What the audit log and the server log call an endpoint: its scheme, host and port. The path
/// and query stay out: receivers such as chat webhooks carry their own secret there.
pub fn url_label(url: &str) -> String {
    match validate_url(url, true) {
        Ok(u) => {
            let (scheme, default_port) = if u.https {
                ("https", 443)
            } else {
                ("http", 80)
            };
            let host = if u.host.contains(':') {
                format!("[{}]", u.host)
            } else {
                u.host
            };
            if u.port == default_port {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}:{}", u.port)
            }
        }
        Err(_) => "webhook endpoint".to_string(),
    }
}

/// Checks the URL's shape: `https://` (or `http://` when private targets are allowed, i.e.
/// tests and labs), a host, no user name or password, no fragment, no spaces. Where the host
/// points is checked when it is resolved (`refused_ip`), at creation and at every delivery.
pub fn validate_url(text: &str, allow_http: bool) -> Result<EndpointUrl, FieldError> {
    let err = |m: &str| FieldError::new("url", m);
    let text = text.trim();
    if text.is_empty() {
        return Err(err("Enter the URL to send events to."));
    }
    if text.len() > MAX_URL_CHARS {
        return Err(err("The URL is too long."));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("The URL cannot contain spaces."));
    }
    let (https, rest) = if let Some(rest) = strip_prefix_ci(text, "https://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ci(text, "http://") {
        if !allow_http {
            return Err(err("The URL must start with https://."));
        }
        (false, rest)
    } else {
        return Err(err("The URL must start with https://."));
    };
    if text.contains('#') {
        return Err(err("The URL cannot have a #fragment."));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(err("The URL cannot contain a user name or password."));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(err("The URL's host is not valid."));
        };
        (host.to_string(), after)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), &authority[h.len()..][..p.len() + 1]),
            None => (authority.to_string(), ""),
        }
    };
    let port = match port {
        "" => {
            if https {
                443
            } else {
                80
            }
        }
        p => p
            .strip_prefix(':')
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| err("The URL's port is not valid."))?,
    };
    let valid_host = !host.is_empty()
        && (host.parse::<Ipv6Addr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
    if !valid_host {
        return Err(err("The URL's host is not valid."));
    }
    Ok(EndpointUrl {
        https,
        host: host.to_ascii_lowercase(),
        port,
    })
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}

/// Why an address is refused as a webhook target (None: a public address). Covers loopback,
/// "this network" 0/8, private ranges, CGNAT 100.64/10, link-local (and the cloud metadata
/// address 169.254.169.254), multicast, broadcast, documentation and reserved ranges, and in
/// IPv6 unspecified, loopback, ULA fc00::/7, link-local fe80::/10, multicast, and IPv4 embedded
/// in IPv6 (mapped ::ffff:0:0/96, translated 64:ff9b::/96 and ::ffff:0:0:0/96, compatible ::/96,
/// 6to4 2002::/16), which could smuggle a refused IPv4 address.
pub fn refused_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(if o[0] == 0 {
        "this-network (0.0.0.0/8)"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "carrier-grade NAT (100.64.0.0/10)"
    } else if ip.is_link_local() {
        "link-local"
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if o[0] >= 240 || ip.is_documentation() || (o[0] == 192 && o[1] == 0 && o[2] == 0) {
        "reserved"
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        "benchmarking"
    } else if o[0] == 192 && o[1] == 88 && o[2] == 99 {
        "6to4 relay (192.88.99.0/24)"
    } else {
        return None;
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "unique-local (fc00::/7)"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "link-local"
    } else if (s[0] & 0xffc0) == 0xfec0 {
        "site-local (fec0::/10)"
    } else if s[..4] == [0x0100, 0, 0, 0] {
        "discard-only (100::/64)"
    } else if ip.is_multicast() {
        "multicast"
    } else if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        "IPv4-mapped or -compatible IPv6"
    } else if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        "IPv4-translated IPv6"
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        "NAT64 (64:ff9b::/32)"
    } else if s[0] == 0x2002 {
        "6to4 (2002::/16)"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        "reserved (2001::/23)"
    } else {
        return None;
    })
}

/// Days before expiry a `token.expiring` notice is sent, largest first.
pub const EXPIRY_NOTICE_DAYS: [i32; 3] = [14, 7, 1];
/// The threshold recorded for `token.expired`.
pub const EXPIRED_NOTICE: i32 = 0;
const DAY: i64 = 86_400;

/// A notice due for a token: its threshold (days before expiry, `EXPIRED_NOTICE` for
/// `token.expired`) and whether an event is sent for it (`false`: only recorded as done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueNotice {
    pub threshold: i32,
    pub emit: bool,
}

/// The notices due at `now` for a token created at `created_at` that expires at `expires_at`.
///
/// A warning `t` is due from `t` days before expiry until expiry, and only if that moment was
/// still ahead when the token was created (a 5-day token gets the 1-day warning, never the 7-
/// or 14-day one). When several are due at once (the scan did not run for a while), only the
/// smallest is sent, the nearest to the truth; the larger ones are recorded as done without an
/// event, so a receiver never gets a stale "14 days left" after "7 days left".
/// `token.expired` is due during the day after expiry, so tokens that expired long before
/// (an upgrade, a long outage) do not flood receivers.
pub fn due_expiry_notices(created_at: i64, expires_at: i64, now: i64) -> Vec<DueNotice> {
    if expires_at <= now {
        return if expires_at > now - DAY {
            vec![DueNotice {
                threshold: EXPIRED_NOTICE,
                emit: true,
            }]
        } else {
            Vec::new()
        };
    }
    let due: Vec<i32> = EXPIRY_NOTICE_DAYS
        .into_iter()
        .filter(|t| {
            let at = expires_at - i64::from(*t) * DAY;
            at <= now && at >= created_at
        })
        .collect();
    let smallest = due.iter().copied().min();
    due.into_iter()
        .map(|threshold| DueNotice {
            threshold,
            emit: Some(threshold) == smallest,
        })
        .collect()
}

/// The first retry comes within a minute; each later one waits twice as long, capped at an
/// hour; nothing is attempted more than a day after the event.
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;

/// Seconds to wait before attempt `attempt + 1`, after `attempt` failed (1-based), with
/// `jitter` in [0, 1) spreading retries of many events apart (up to a fifth more).
pub fn backoff_secs(attempt: i32, jitter: f64) -> i64 {
    let base = 30i64
        .saturating_mul(1i64 << (attempt.clamp(1, 20) - 1))
        .min(3600);
    base + (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as i64
}

/// When to try again after attempt `attempt` failed at `now`, or None to give up (the next
/// attempt would start more than a day after the event was created).
pub fn next_attempt(created_at: i64, now: i64, attempt: i32, jitter: f64) -> Option<i64> {
    let at = now + backoff_secs(attempt, jitter);
    (at <= created_at + GIVE_UP_AFTER_SECS).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        refused_ip(s.parse().unwrap()).is_some()
    }

    #[test]
    fn every_refused_range_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "169.254.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "239.1.1.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "2001:db8::1",
            "192.88.99.1",
            "fec0::1",
            "100::1",
            "64:ff9b:1::a00:1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn labels_keep_the_path_out() {
        assert_eq!(
            url_label("https://hooks.example.com/services/T000/B000/XXXXsecret"),
            "https://hooks.example.com"
        );
        assert_eq!(
            url_label("http://127.0.0.1:8080/hook?key=s3cr3t"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            url_label("https://[2001:db8::1]:8443/x"),
            "https://[2001:db8::1]:8443"
        );
        assert_eq!(url_label("not a url"), "webhook endpoint");
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            assert!(!refused(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn urls_need_https_and_a_plain_host() {
        let u = validate_url("https://hooks.example.com/in?x=1", false).unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port),
            (true, "hooks.example.com", 443)
        );
        let u = validate_url("http://127.0.0.1:8080/hook", true).unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port),
            (false, "127.0.0.1", 8080)
        );
        let u = validate_url("https://[::1]:9/x", false).unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        for bad in [
            "",
            "http://example.com/",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https:///path",
            "https://example.com/#frag",
            "https://[::1/",
        ] {
            assert!(validate_url(bad, false).is_err(), "{bad} must be refused");
        }
        assert!(validate_url("http://example.com/", true).is_ok());
    }

    #[test]
    fn events_parse_to_a_canonical_list() {
        assert_eq!(
            parse_events("token.revoked, token.created token.created").unwrap(),
            vec![EventType::TokenCreated, EventType::TokenRevoked]
        );
        assert_eq!(parse_events("*").unwrap().len(), EventType::ALL.len());
        assert!(parse_events("").is_err());
        assert!(parse_events("token.exploded").is_err());
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
        }
        assert_eq!(
            format_events(&[EventType::TokenCreated, EventType::WebhookTest]),
            "token.created,webhook.test"
        );
    }

    fn notices(created: i64, expires: i64, now: i64) -> Vec<(i32, bool)> {
        due_expiry_notices(created, expires, now)
            .into_iter()
            .map(|n| (n.threshold, n.emit))
            .collect()
    }

    #[test]
    fn expiry_notices_fall_due_at_each_threshold() {
        let day = 86_400;
        let exp = 20 * day;
        assert_eq!(notices(0, exp, 0), vec![]);
        assert_eq!(notices(0, exp, exp - 14 * day - 1), vec![]);
        assert_eq!(notices(0, exp, exp - 14 * day), vec![(14, true)]);
        assert_eq!(notices(0, exp, exp - 13 * day), vec![(14, true)]);
        assert_eq!(notices(0, exp, exp - 6 * day), vec![(14, false), (7, true)]);
        assert_eq!(
            notices(0, exp, exp - 1),
            vec![(14, false), (7, false), (1, true)]
        );
        assert_eq!(notices(0, exp, exp), vec![(0, true)]);
        assert_eq!(notices(0, exp, exp + day - 1), vec![(0, true)]);
        assert_eq!(notices(0, exp, exp + day), vec![]);
    }

    #[test]
    fn only_thresholds_ahead_at_creation_are_due() {
        let day = 86_400;
        // A 5-day token: only the 1-day warning, never 7 or 14.
        assert_eq!(notices(0, 5 * day, 4 * day), vec![(1, true)]);
        assert_eq!(notices(0, 5 * day, 3 * day), vec![]);
        // Exactly 7 days: the 7-day warning is due at creation.
        assert_eq!(notices(0, 7 * day, 0), vec![(7, true)]);
        // Created 2 hours before expiry: no warning, still the expired event.
        assert_eq!(notices(10 * day, 10 * day + 7200, 10 * day + 3600), vec![]);
        assert_eq!(
            notices(10 * day, 10 * day + 7200, 10 * day + 7200),
            vec![(0, true)]
        );
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        assert!(backoff_secs(1, 0.0) <= 60 && backoff_secs(1, 0.99) <= 60);
        assert!(backoff_secs(2, 0.0) > backoff_secs(1, 0.0));
        assert!(backoff_secs(30, 0.99) <= 3600 * 6 / 5);
        assert_eq!(next_attempt(0, 100, 1, 0.0), Some(130));
        assert_eq!(next_attempt(0, GIVE_UP_AFTER_SECS - 10, 5, 0.0), None);
    }
}
