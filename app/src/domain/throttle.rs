//! Sign-in throttling (who may try a password, and when).
//!
//! A lockout per account lets anyone lock an Admin out by guessing. Instead:
//! - per (account, address): 5 failures within 15 minutes stop that address trying that
//!   account until the oldest of them leaves the window;
//! - per address, over every account: 20 failures within 15 minutes (password spraying);
//! - per account, counted over every address: from 20 failures within an hour, each address's
//!   attempts on that account are spaced out progressively (1 s, 2 s, 4 s, … at most a minute
//!   apart), measured from that address's own last failure on it. Measuring from anyone's last
//!   failure would let a guesser rotating addresses keep the owner out indefinitely, so an
//!   address that is not failing on the account is never held back by others' failures.
//!
//! An IPv6 client usually controls a whole /64, so IPv6 addresses count per /64.

use std::net::IpAddr;

use super::limits::{
    LOGIN_ACCOUNT_SLOWDOWN_FROM, LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS,
    LOGIN_MAX_SPACING_SECS, LOGIN_WINDOW_SECS,
};

/// The address as throttling counts it: an IPv4 address, or the /64 of an IPv6 address
/// (IPv4-mapped IPv6 addresses count as IPv4). Anything unparsable is its own key.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        Err(_) => ip.to_string(),
    }
}

/// Recent failures, newest first, as read from the database.
#[derive(Debug, Default, Clone)]
pub struct Failures {
    /// This account from this address, within `LOGIN_WINDOW_SECS`.
    pub pair: Vec<i64>,
    /// This address, any account, within `LOGIN_WINDOW_SECS`.
    pub address: Vec<i64>,
    /// How many for this account from any address within `LOGIN_ACCOUNT_WINDOW_SECS`.
    pub account_count: i64,
}

/// Whether an attempt may go ahead at `now`; if not, how many seconds to wait.
pub fn check(f: &Failures, now: i64) -> Result<(), i64> {
    let window_end = |times: &[i64], max: i64| {
        (times.len() as i64 >= max)
            // the oldest of the last `max` failures leaves the window first
            .then(|| times.get(max as usize - 1).map(|t| t + LOGIN_WINDOW_SECS))
            .flatten()
    };
    // `pair` covers `LOGIN_WINDOW_SECS`, far longer than the widest spacing.
    let spacing = f.pair.first().and_then(|last| {
        let over = f.account_count - LOGIN_ACCOUNT_SLOWDOWN_FROM;
        (over >= 0).then(|| last + account_spacing(over))
    });
    let retry_at = [
        window_end(&f.pair, LOGIN_MAX_FAILURES),
        window_end(&f.address, LOGIN_MAX_FAILURES_PER_ADDRESS),
        spacing,
    ]
    .into_iter()
    .flatten()
    .max();
    match retry_at {
        Some(at) if at > now => Err(at - now),
        _ => Ok(()),
    }
}

/// Seconds between attempts on an account `over` failures past the slowdown threshold.
fn account_spacing(over: i64) -> i64 {
    1_i64
        .checked_shl(over.clamp(0, 30) as u32)
        .unwrap_or(i64::MAX)
        .min(LOGIN_MAX_SPACING_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            address_key("2001:db8:1:2::9")
        );
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("unknown"), "unknown");
    }

    #[test]
    fn five_failures_from_one_address_stop_that_address_only() {
        let now = 10_000;
        let f = Failures {
            pair: vec![now - 10, now - 20, now - 30, now - 40, now - 50],
            address: vec![now - 10, now - 20, now - 30, now - 40, now - 50],
            account_count: 5,
        };
        assert_eq!(check(&f, now), Err(LOGIN_WINDOW_SECS - 50));
        // Another address, same account: the five failures elsewhere do not stop it.
        let elsewhere = Failures {
            pair: vec![],
            address: vec![],
            ..f.clone()
        };
        assert_eq!(check(&elsewhere, now), Ok(()));
        // Four are not enough.
        let four = Failures {
            pair: f.pair[..4].to_vec(),
            address: f.pair[..4].to_vec(),
            ..f
        };
        assert_eq!(check(&four, now), Ok(()));
    }

    #[test]
    fn an_address_spraying_many_accounts_is_stopped() {
        let now = 10_000;
        let f = Failures {
            address: (0..20).map(|i| now - i).collect(),
            ..Failures::default()
        };
        assert!(check(&f, now).is_err());
    }

    #[test]
    fn many_failures_on_one_account_slow_each_failing_address_down_without_locking_it() {
        let now = 10_000;
        let at = |count, last| Failures {
            pair: vec![last],
            address: vec![last],
            account_count: count,
        };
        assert_eq!(check(&at(19, now), now), Ok(()));
        assert_eq!(check(&at(20, now), now), Err(1));
        assert_eq!(check(&at(22, now), now), Err(4));
        assert_eq!(check(&at(1000, now), now), Err(LOGIN_MAX_SPACING_SECS));
        // Once the spacing has passed, the next attempt goes ahead.
        assert_eq!(check(&at(1000, now - LOGIN_MAX_SPACING_SECS), now), Ok(()));
    }

    #[test]
    fn others_failures_never_hold_back_an_address_that_is_not_failing() {
        let now = 10_000;
        // A guesser rotating addresses has just failed, for the thousandth time this hour.
        let owner = Failures {
            account_count: 1000,
            ..Failures::default()
        };
        assert_eq!(check(&owner, now), Ok(()));
        // Each of the guesser's addresses is still spaced out from its own last failure.
        let guesser = Failures {
            pair: vec![now - 1],
            address: vec![now - 1],
            account_count: 1000,
        };
        assert_eq!(check(&guesser, now), Err(LOGIN_MAX_SPACING_SECS - 1));
    }
}
