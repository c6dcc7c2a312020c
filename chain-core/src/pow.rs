//! Proof-of-work numbers: the compact `bits` of a header, the 256-bit target it encodes, and the
//! work a block proves.
//!
//! `bits` uses Bitcoin's compact form: the high byte is a base-256 exponent, the low 23 bits a
//! mantissa, and bit 23 a sign that must be clear. Targets that are negative, zero or larger than
//! 256 bits are not targets at all. A block's work is `2^256 / (target + 1)`: the expected number
//! of hashes needed to find it. Fork choice compares the sum of that over a chain.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use ruint::aliases::U256;
use std::fmt;

/// A target in compact form, as stored in the header's `bits` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CompactTarget(pub u32);

impl CompactTarget {
    /// The target this compact value encodes, or `None` when it is negative, zero or overflows.
    pub fn to_target(self) -> Option<Target> {
        let bits = self.0;
        let exponent = bits >> 24;
        let mantissa = bits & 0x007f_ffff;
        if mantissa == 0 || bits & 0x0080_0000 != 0 {
            return None;
        }
        let value = if exponent <= 3 {
            U256::from(mantissa >> (8 * (3 - exponent)))
        } else {
            let shift = 8 * (exponent as usize - 3);
            let bits_needed = 32 - mantissa.leading_zeros() as usize + shift;
            if bits_needed > 256 {
                return None;
            }
            U256::from(mantissa) << shift
        };
        (value != U256::ZERO).then_some(Target(value))
    }
}

impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl Encode for CompactTarget {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for CompactTarget {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u32::decode(reader).map(Self)
    }
}

/// A 256-bit target: a block hash read as a big-endian number must not exceed it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(pub U256);

impl Target {
    /// The target as 32 big-endian bytes, the form hash comparisons use.
    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes::<32>()
    }

    /// The target from 32 big-endian bytes.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// Whether a hash (in digest byte order, read big-endian) meets this target.
    pub fn is_met_by(self, hash: &[u8; 32]) -> bool {
        U256::from_be_bytes(*hash) <= self.0
    }

    /// The nearest compact form (rounding the target down, as Bitcoin does).
    pub fn to_compact(self) -> CompactTarget {
        let mut size = self.0.bit_len().div_ceil(8) as u32;
        let mut mantissa: u32 = if size <= 3 {
            let low = self.0.as_limbs()[0] as u32;
            low << (8 * (3 - size))
        } else {
            (self.0 >> (8 * (size as usize - 3))).as_limbs()[0] as u32
        };
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8;
            size += 1;
        }
        CompactTarget(mantissa | (size << 24))
    }

    /// The work a block meeting this target proves: `2^256 / (target + 1)`.
    pub fn work(self) -> Work {
        // 2^256 / (t + 1) == (2^256 - t - 1) / (t + 1) + 1 == !t / (t + 1) + 1, computed without
        // needing a 257-bit number. `t + 1` overflows only for t = 2^256 - 1, whose work is 1.
        match self.0.checked_add(U256::from(1u8)) {
            Some(divisor) => Work((!self.0) / divisor + U256::from(1u8)),
            None => Work(U256::from(1u8)),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hash::write_hex(f, &self.to_be_bytes())
    }
}

/// Cumulative proof of work: the expected number of hashes behind a block or a chain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Work(pub U256);

impl Work {
    /// No work.
    pub const ZERO: Self = Self(U256::ZERO);

    /// The sum of two amounts of work. Saturates, which no real chain can reach: it would take
    /// 2^256 hashes.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// The difference of two amounts of work, or none when `other` is the larger.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// The work of `times` blocks of this work each. Saturates, as [`Work::saturating_add`].
    #[must_use]
    pub fn saturating_times(self, times: u64) -> Self {
        Self(self.0.saturating_mul(U256::from(times)))
    }

    /// The work as 32 big-endian bytes (sorts like the number, for storage).
    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes::<32>()
    }

    /// The work from 32 big-endian bytes.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// The work as a float, for display of hash rates and difficulty only.
    pub fn as_f64(self) -> f64 {
        self.0.as_limbs().iter().rev().fold(0.0, |acc, &limb| {
            acc * 18_446_744_073_709_551_616.0 + limb as f64
        })
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({})", self.0)
    }
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bitcoin_genesis_bits_decode_to_the_known_target() {
        let target = CompactTarget(0x1d00ffff).to_target().unwrap();
        assert_eq!(
            target.to_string(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(target.to_compact(), CompactTarget(0x1d00ffff));
        // Bitcoin's genesis block proves 2^32 / (1 - 2^-16) ≈ 4295032833 hashes.
        assert_eq!(target.work().0, U256::from(4_295_032_833u64));
    }

    #[test]
    fn invalid_compact_forms_are_rejected() {
        assert_eq!(CompactTarget(0x0180_0000).to_target(), None, "negative");
        assert_eq!(CompactTarget(0x0400_0000).to_target(), None, "zero");
        assert_eq!(
            CompactTarget(0x2201_0000).to_target(),
            None,
            "overflows 256 bits"
        );
        assert_eq!(
            CompactTarget(0x0100_0001).to_target(),
            None,
            "shifted out to zero"
        );
        assert!(CompactTarget(0x2100_ffff).to_target().is_some());
    }

    #[test]
    fn easier_targets_prove_less_work() {
        let hard = CompactTarget(0x1d00ffff).to_target().unwrap();
        let easy = CompactTarget(0x207fffff).to_target().unwrap();
        assert!(easy.work() < hard.work());
        assert_eq!(
            easy.work().0,
            U256::from(2u8),
            "half of all hashes meet 0x207fffff"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        #[test]
        fn compact_round_trip_rounds_down_only(limbs: [u64; 4], shift in 0usize..250) {
            let value = U256::from_limbs(limbs) >> shift;
            prop_assume!(value != U256::ZERO);
            let compact = Target(value).to_compact();
            let back = compact.to_target().expect("a compact form of a real target is valid");
            prop_assert!(back.0 <= value);
            prop_assert_eq!(back.to_compact(), compact);
        }
    }
}
