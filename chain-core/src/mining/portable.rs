//! Portable kernel: the specialised double hash in plain Rust, one nonce at a time.
//!
//! It is the reference for the vector kernels (same [`sha256d_h0!`] code, `u32` lanes) and
//! the fallback on CPUs without any of their features.

use super::sha256::{self, Pre, sha256d_h0};

#[inline(always)]
fn splat(x: u32) -> u32 {
    x
}

#[inline(always)]
fn add(x: u32, y: u32) -> u32 {
    x.wrapping_add(y)
}

#[inline(always)]
fn bsig0(x: u32) -> u32 {
    sha256::bsig0(x)
}

#[inline(always)]
fn bsig1(x: u32) -> u32 {
    sha256::bsig1(x)
}

#[inline(always)]
fn ssig0(x: u32) -> u32 {
    sha256::ssig0(x)
}

#[inline(always)]
fn ssig1(x: u32) -> u32 {
    sha256::ssig1(x)
}

#[inline(always)]
fn ch(e: u32, f: u32, g: u32) -> u32 {
    // Same as (e & f) ^ (!e & g), one operation fewer.
    ((f ^ g) & e) ^ g
}

#[inline(always)]
fn maj(a: u32, b: u32, c: u32) -> u32 {
    // Same as (a & b) ^ (a & c) ^ (b & c).
    (a & b) | (c & (a | b))
}

/// Outer H0 of the header whose low nonce word is `lo`.
#[inline]
fn h0(pre: &Pre, lo: u32) -> u32 {
    sha256d_h0!(pre, lo.swap_bytes())
}

/// First `lo` in `lo .. lo + n` whose outer H0 is `<= pre.t0`.
pub(super) fn scan(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    (0..n)
        .map(|i| lo.wrapping_add(i as u32))
        .find(|&nonce_lo| h0(pre, nonce_lo) <= pre.t0)
}

/// Outer H0 for the low nonce words `lo, lo + 1, …` (test hook).
#[cfg(test)]
pub(super) fn h0s(pre: &Pre, lo: u32, out: &mut [u32]) {
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = h0(pre, lo.wrapping_add(i as u32));
    }
}
