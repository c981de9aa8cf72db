//! A token's status: the one rule that decides it, and the order the token table sorts
//! statuses in. The SQL the table filters and sorts by (`backend::repo::token_table::filter`)
//! is generated from these and tested against them on both databases.

use super::limits::{DAY_SECS, EXPIRY_WARNING_DAYS};
use crate::model::TokenStatus;

/// Sorting by status goes by meaning, not spelling: usable tokens first, revoked last.
pub const SORT_ORDER: [TokenStatus; 5] = [
    TokenStatus::Active,
    TokenStatus::ExpiringSoon,
    TokenStatus::OwnerDisabled,
    TokenStatus::Expired,
    TokenStatus::Revoked,
];

/// Where `status` sorts (0 first).
pub fn sort_rank(status: TokenStatus) -> usize {
    SORT_ORDER
        .iter()
        .position(|s| *s == status)
        .expect("every status has a place in SORT_ORDER")
}

/// The first instant that no longer counts as "expiring soon".
pub fn soon_after(now: i64) -> i64 {
    now + EXPIRY_WARNING_DAYS * DAY_SECS
}

/// The status of a token at `now`: revocation wins, then expiry, then a disabled owner; a
/// token expiring within the warning period is "expiring soon".
pub fn status_at(
    revoked: bool,
    expires_at: Option<i64>,
    owner_disabled: bool,
    now: i64,
) -> TokenStatus {
    if revoked {
        TokenStatus::Revoked
    } else if expires_at.is_some_and(|at| at <= now) {
        TokenStatus::Expired
    } else if owner_disabled {
        TokenStatus::OwnerDisabled
    } else if expires_at.is_some_and(|at| at < soon_after(now)) {
        TokenStatus::ExpiringSoon
    } else {
        TokenStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_rank() {
        let mut ranks: Vec<usize> = TokenStatus::ALL.into_iter().map(sort_rank).collect();
        ranks.sort();
        assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn revocation_then_expiry_then_owner_decide() {
        let now = 1_000_000;
        assert_eq!(
            status_at(true, Some(now - 1), true, now),
            TokenStatus::Revoked
        );
        assert_eq!(status_at(false, Some(now), true, now), TokenStatus::Expired);
        assert_eq!(
            status_at(false, Some(now + 1), true, now),
            TokenStatus::OwnerDisabled
        );
        assert_eq!(
            status_at(false, None, true, now),
            TokenStatus::OwnerDisabled
        );
        assert_eq!(
            status_at(false, Some(now + 1), false, now),
            TokenStatus::ExpiringSoon
        );
        assert_eq!(
            status_at(false, Some(soon_after(now) - 1), false, now),
            TokenStatus::ExpiringSoon
        );
        assert_eq!(
            status_at(false, Some(soon_after(now)), false, now),
            TokenStatus::Active
        );
        assert_eq!(status_at(false, None, false, now), TokenStatus::Active);
    }
}
