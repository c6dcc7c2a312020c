//! Amounts and heights: plain integers behind newtypes so that a fee cannot be added to a
//! height by mistake, with checked arithmetic that reports overflow instead of wrapping.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Base units in one coin.
pub const COIN: u64 = 100_000_000;

/// An amount of base units (1 coin = 100,000,000 base units).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(pub u64);

impl Amount {
    /// No coins.
    pub const ZERO: Self = Self(0);

    /// `coins` whole coins, or `None` when that overflows.
    pub fn from_coins(coins: u64) -> Option<Self> {
        coins.checked_mul(COIN).map(Self)
    }

    /// The sum, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// The difference, or `None` when `other` is larger.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Self>) -> Option<Self> {
        amounts.into_iter().try_fold(Self::ZERO, Self::checked_add)
    }

    /// Parses a decimal coin amount such as `12`, `0.5` or `1.00000001` (at most 8 decimals).
    pub fn parse_coins(text: &str) -> Option<Self> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (whole, frac) = match text.split_once('.') {
            Some((whole, frac)) if digits(frac) => (whole, frac),
            Some(_) => return None,
            None => (text, ""),
        };
        if !digits(whole) || frac.len() > 8 {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let frac_units: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<8}").parse().ok()?
        };
        whole.checked_mul(COIN)?.checked_add(frac_units).map(Self)
    }
}

impl fmt::Display for Amount {
    /// Prints whole coins with eight decimals, e.g. `50.00000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:08}", self.0 / COIN, self.0 % COIN)
    }
}

impl Encode for Amount {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for Amount {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u64::decode(reader).map(Self)
    }
}

/// A block's distance from genesis (genesis is height 0).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Height(pub u64);

impl Height {
    /// The genesis block's height.
    pub const GENESIS: Self = Self(0);

    /// The next height, or `None` on overflow.
    #[must_use]
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }

    /// The previous height, or `None` at genesis.
    #[must_use]
    pub fn prev(self) -> Option<Self> {
        self.0.checked_sub(1).map(Self)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Encode for Height {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for Height {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u64::decode(reader).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount(u64::MAX).checked_add(Amount(1)), None);
        assert_eq!(Amount(1).checked_sub(Amount(2)), None);
        assert_eq!(Amount::checked_sum([Amount(u64::MAX), Amount(1)]), None);
        assert_eq!(Amount::checked_sum([Amount(2), Amount(3)]), Some(Amount(5)));
        assert_eq!(Height(u64::MAX).next(), None);
        assert_eq!(Height::GENESIS.prev(), None);
    }

    #[test]
    fn coin_amounts_parse_and_print() {
        assert_eq!(Amount::parse_coins("1.5"), Some(Amount(150_000_000)));
        assert_eq!(Amount::parse_coins("0.00000001"), Some(Amount(1)));
        assert_eq!(Amount::parse_coins("50"), Some(Amount(50 * COIN)));
        for bad in [
            "",
            ".",
            "1.",
            "-1",
            "1.123456789",
            "1e3",
            "184467440737.1",
            " 1",
        ] {
            assert_eq!(Amount::parse_coins(bad), None, "{bad:?}");
        }
        assert_eq!(Amount(150_000_001).to_string(), "1.50000001");
    }
}
