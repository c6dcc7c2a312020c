//! Rate limits per client address on the pages anyone can post to: log in, register, send.
//!
//! Each limit is a GCRA quota (governor's keyed limiter) per IP address: a burst of the
//! quota's size, refilled evenly over its period. Past it a request is refused before any work
//! (no Argon2 run, no database access) with `429 Too Many Requests` and `Retry-After`. The
//! chosen rule for logins, with `UserStore::login`'s own: failures lock a name *for the address
//! that failed* (five in five minutes), and each address may try ten logins a minute in all, so
//! a stranger can neither lock an account out for its owner nor spray many names quickly. The
//! JSON API's state-changing routes are limited for every request that does not carry the
//! operator's token (`api.rs`): the operator is trusted, a token guesser or an open node's
//! public is not.
//!
//! The limiters forget addresses that have been quiet for a full period once they hold many
//! ([`FORGET_PAST`]), so a flood of addresses cannot grow them without bound.

use crate::ClientAddr;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use warp::{Filter, Rejection};

/// Addresses a limiter holds before it forgets those with nothing left to refill.
const FORGET_PAST: usize = 10_000;

/// How many requests of each kind one client address may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuotas {
    /// Logins a minute (a burst of as many).
    pub logins_per_minute: u32,
    /// Registrations an hour (each costs two Argon2 runs and may start a miner).
    pub registrations_per_hour: u32,
    /// Sends a minute.
    pub sends_per_minute: u32,
}

impl Default for RateQuotas {
    /// 10 logins a minute, 5 registrations an hour, 30 sends a minute.
    fn default() -> Self {
        Self {
            logins_per_minute: 10,
            registrations_per_hour: 5,
            sends_per_minute: 30,
        }
    }
}

/// A request over its quota: retry after this many seconds.
#[derive(Debug)]
pub(crate) struct TooManyRequests {
    pub(crate) retry_after: u64,
}

impl warp::reject::Reject for TooManyRequests {}

/// One quota, per client address.
#[derive(Clone)]
pub(crate) struct Limit(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("addresses", &self.0.len())
            .finish()
    }
}

impl Limit {
    /// `count` requests per `period` (at least one).
    pub(crate) fn new(count: u32, period: Duration) -> Self {
        let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
        let spacing = period / count.get();
        // A zero period would mean no limit; `with_period` refuses it, so one nanosecond.
        let quota = Quota::with_period(spacing.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(count);
        Self(Arc::new(RateLimiter::keyed(quota)))
    }

    /// Counts a request from `client`; refused past the quota.
    pub(crate) fn check(&self, client: IpAddr) -> Result<(), TooManyRequests> {
        if self.0.len() > FORGET_PAST {
            self.0.retain_recent();
        }
        self.0.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            TooManyRequests {
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// A filter that passes a request within the quota of its client's address (one without
    /// an address, as in warp's own tests, is not limited).
    pub(crate) fn filter(&self) -> impl Filter<Extract = (), Error = Rejection> + Clone + use<> {
        let limit = self.clone();
        warp::ext::optional::<ClientAddr>()
            .and_then(move |client: Option<ClientAddr>| {
                let checked = client.map_or(Ok(()), |client| limit.check(client.0.ip()));
                async move { checked.map_err(warp::reject::custom) }
            })
            .untuple_one()
    }
}

/// The application's limits.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) login: Limit,
    pub(crate) register: Limit,
    pub(crate) send: Limit,
}

impl Limits {
    pub(crate) fn new(quotas: RateQuotas) -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Self {
            login: Limit::new(quotas.logins_per_minute, MINUTE),
            register: Limit::new(quotas.registrations_per_hour, 60 * MINUTE),
            send: Limit::new(quotas.sends_per_minute, MINUTE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_per_address_and_says_when_to_come_back() {
        let limit = Limit::new(3, Duration::from_secs(60));
        let (one, two): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            limit.check(one).unwrap();
        }
        let refused = limit.check(one).unwrap_err();
        assert!(
            (1..=20).contains(&refused.retry_after),
            "{}",
            refused.retry_after
        );
        limit.check(two).unwrap();
    }
}
