//! Per-token IP allowlists: a list of CIDR ranges (IPv4 and IPv6). An empty list allows any
//! address.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::limits::{MAX_ALLOWLIST_CHARS, MAX_CIDRS_PER_TOKEN};
use super::FieldError;

/// Parses the allowlist as typed in the form: one range per line or comma-separated. A bare
/// address means just that address (/32 or /128). Returns the normalised text stored in the
/// database (one canonical range per line).
pub fn parse_allowlist(text: &str) -> Result<Vec<IpNet>, FieldError> {
    // The caps come first: a huge paste is refused by its size, before any of it is parsed.
    let too_many = || {
        FieldError::new(
            "allowed_cidrs",
            format!("At most {MAX_CIDRS_PER_TOKEN} ranges per token."),
        )
    };
    if text.len() > MAX_ALLOWLIST_CHARS {
        return Err(too_many());
    }
    let items = || {
        text.split([',', '\n', '\r', ' ', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if items().nth(MAX_CIDRS_PER_TOKEN).is_some() {
        return Err(too_many());
    }
    let mut nets = Vec::new();
    let mut seen = HashSet::new();
    for item in items() {
        let net = item
            .parse::<IpNet>()
            .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                FieldError::new(
                    "allowed_cidrs",
                    format!("“{item}” is not an IP address or CIDR range (for example 10.0.0.0/8 or 2001:db8::/32)."),
                )
            })?;
        let net = net.trunc();
        if seen.insert(net) {
            nets.push(net);
        }
    }
    Ok(nets)
}

pub fn format_allowlist(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `ip` may use a token with this allowlist. IPv4-mapped IPv6 addresses are checked
/// as IPv4, because that is how dual-stack sockets report IPv4 peers.
pub fn allows(nets: &[IpNet], ip: IpAddr) -> bool {
    if nets.is_empty() {
        return true;
    }
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_bare_addresses() {
        let nets = parse_allowlist("10.0.0.0/8, 192.168.1.7\n2001:db8::/32").unwrap();
        assert_eq!(
            format_allowlist(&nets),
            "10.0.0.0/8\n192.168.1.7/32\n2001:db8::/32"
        );
        assert!(parse_allowlist("").unwrap().is_empty());
        // host bits are dropped, duplicates removed
        assert_eq!(
            format_allowlist(&parse_allowlist("10.1.2.3/8 10.0.0.0/8").unwrap()),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn refuses_garbage_with_the_offending_item() {
        let err = parse_allowlist("10.0.0.0/8, banana").unwrap_err();
        assert_eq!(err.field, "allowed_cidrs");
        assert!(err.message.contains("banana"));
        assert!(parse_allowlist("10.0.0.0/33").is_err());
        let many = (0..33)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_allowlist(&many).is_err());
    }

    #[test]
    fn membership_covers_v4_v6_and_mapped_addresses() {
        let nets = parse_allowlist("10.0.0.0/8, 2001:db8::/32").unwrap();
        assert!(allows(&nets, "10.2.3.4".parse().unwrap()));
        assert!(!allows(&nets, "11.2.3.4".parse().unwrap()));
        assert!(allows(&nets, "2001:db8::1".parse().unwrap()));
        assert!(!allows(&nets, "2001:db9::1".parse().unwrap()));
        assert!(allows(&nets, "::ffff:10.9.9.9".parse().unwrap()));
        assert!(allows(&[], "8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn caps_apply_before_parsing() {
        // 33 items, the last one garbage: refused for the count, not for the garbage (which
        // shows the count was checked before anything was parsed).
        let mut items = (0..32)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect::<Vec<_>>();
        items.push("banana".into());
        let err = parse_allowlist(&items.join(",")).unwrap_err();
        assert!(err.message.contains("At most"), "{}", err.message);
        // Megabytes of input are refused by size straight away.
        let huge = "10.0.0.1,".repeat(200_000);
        let err = parse_allowlist(&huge).unwrap_err();
        assert!(err.message.contains("At most"));
        // Exactly at the cap is fine, duplicates included.
        let ok = (0..32)
            .map(|i| format!("10.0.{}.0/24", i % 4))
            .collect::<Vec<_>>();
        assert_eq!(parse_allowlist(&ok.join(",")).unwrap().len(), 4);
    }
}
