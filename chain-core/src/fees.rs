//! Fees a person most likely did not mean: one above the amount sent, or above an absolute
//! limit (in the spirit of bitcoind's `-maxtxfee`). Consensus takes any fee; wallets (the CLI
//! and the web) ask before sending such a transfer, and send it only when told to.

use crate::units::{Amount, COIN};
use std::fmt;

/// The fee above which a wallet asks before sending, unless configured otherwise: 0.1 coin,
/// ten thousand times the default fee of 0.00001.
pub const DEFAULT_MAX_FEE: Amount = Amount(COIN / 10);

/// Why a fee looks like a mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeConcern {
    /// The fee is more than the amount it sends.
    AboveAmount {
        /// The fee.
        fee: Amount,
        /// The amount.
        amount: Amount,
    },
    /// The fee is above the wallet's limit.
    AboveLimit {
        /// The fee.
        fee: Amount,
        /// The limit.
        limit: Amount,
    },
}

impl fmt::Display for FeeConcern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AboveAmount { fee, amount } => {
                write!(f, "the fee {fee} is more than the amount {amount} it sends")
            }
            Self::AboveLimit { fee, limit } => {
                write!(f, "the fee {fee} is above this wallet's limit of {limit}")
            }
        }
    }
}

/// What is wrong with paying `fee` to send `amount`, with `limit` the largest fee sent without
/// asking; `None` when nothing is.
pub fn fee_concern(amount: Amount, fee: Amount, limit: Amount) -> Option<FeeConcern> {
    if fee > amount {
        Some(FeeConcern::AboveAmount { fee, amount })
    } else if fee > limit {
        Some(FeeConcern::AboveLimit { fee, limit })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fee_above_the_amount_or_the_limit_is_a_concern() {
        let coins = |c: u64| Amount(c * COIN);
        assert_eq!(fee_concern(coins(1), Amount(1_000), DEFAULT_MAX_FEE), None);
        assert_eq!(
            fee_concern(Amount(COIN / 60), coins(1), coins(10)),
            Some(FeeConcern::AboveAmount {
                fee: coins(1),
                amount: Amount(COIN / 60)
            })
        );
        assert!(matches!(
            fee_concern(coins(100), coins(1), DEFAULT_MAX_FEE),
            Some(FeeConcern::AboveLimit { .. })
        ));
        assert_eq!(
            fee_concern(coins(1), DEFAULT_MAX_FEE, DEFAULT_MAX_FEE),
            None
        );
    }
}
