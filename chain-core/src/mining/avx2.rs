//! AVX2 kernel: 8 nonces per `__m256i`.
//!
//! AVX2 has no vector rotate, so each rotation is two shifts and an OR, and each three-way XOR
//! is two XORs: about twice the instructions per lane of the AVX-512 kernel at half the width.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_castsi256_ps, _mm256_cmpeq_epi32,
    _mm256_min_epu32, _mm256_movemask_ps, _mm256_or_si256, _mm256_set1_epi32, _mm256_setr_epi8,
    _mm256_setr_epi32, _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_xor_si256,
};

use super::sha256::{Pre, sha256d_h0};

/// Lanes per vector.
const LANES: u32 = 8;

/// Whether this CPU can run the kernel.
pub(super) fn detected() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Rotate each lane right by a literal amount.
macro_rules! ror {
    ($x:expr, $n:literal) => {
        _mm256_or_si256(
            _mm256_srli_epi32::<$n>($x),
            _mm256_slli_epi32::<{ 32 - $n }>($x),
        )
    };
}

#[inline]
#[target_feature(enable = "avx2")]
fn splat(x: u32) -> __m256i {
    _mm256_set1_epi32(x as i32)
}

#[inline]
#[target_feature(enable = "avx2")]
fn add(x: __m256i, y: __m256i) -> __m256i {
    _mm256_add_epi32(x, y)
}

#[inline]
#[target_feature(enable = "avx2")]
fn xor(x: __m256i, y: __m256i) -> __m256i {
    _mm256_xor_si256(x, y)
}

#[inline]
#[target_feature(enable = "avx2")]
fn bsig0(x: __m256i) -> __m256i {
    xor(xor(ror!(x, 2), ror!(x, 13)), ror!(x, 22))
}

#[inline]
#[target_feature(enable = "avx2")]
fn bsig1(x: __m256i) -> __m256i {
    xor(xor(ror!(x, 6), ror!(x, 11)), ror!(x, 25))
}

#[inline]
#[target_feature(enable = "avx2")]
fn ssig0(x: __m256i) -> __m256i {
    xor(xor(ror!(x, 7), ror!(x, 18)), _mm256_srli_epi32::<3>(x))
}

#[inline]
#[target_feature(enable = "avx2")]
fn ssig1(x: __m256i) -> __m256i {
    xor(xor(ror!(x, 17), ror!(x, 19)), _mm256_srli_epi32::<10>(x))
}

#[inline]
#[target_feature(enable = "avx2")]
fn ch(e: __m256i, f: __m256i, g: __m256i) -> __m256i {
    xor(_mm256_and_si256(xor(f, g), e), g)
}

#[inline]
#[target_feature(enable = "avx2")]
fn maj(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_or_si256(
        _mm256_and_si256(a, b),
        _mm256_and_si256(c, _mm256_or_si256(a, b)),
    )
}

/// Big-endian reading of each lane's little-endian low nonce word `base + lane`.
#[inline]
#[target_feature(enable = "avx2")]
fn nonce_words(base: u32) -> __m256i {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let swap = _mm256_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8,
        15, 14, 13, 12,
    );
    _mm256_shuffle_epi8(_mm256_add_epi32(splat(base), lanes), swap)
}

/// Outer H0 of the 8 nonces `base .. base + 8` (low words).
#[inline]
#[target_feature(enable = "avx2")]
fn h0_lanes(pre: &Pre, base: u32) -> __m256i {
    sha256d_h0!(pre, nonce_words(base))
}

#[target_feature(enable = "avx2")]
fn scan_impl(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    let t0 = splat(pre.t0);
    let mut done = 0u64;
    while done < n {
        let base = lo.wrapping_add(done as u32);
        let h0 = h0_lanes(pre, base);
        // h0 <= t0 (unsigned) iff min(h0, t0) == h0.
        let le = _mm256_cmpeq_epi32(_mm256_min_epu32(h0, t0), h0);
        let mut hits = _mm256_movemask_ps(_mm256_castsi256_ps(le)) as u32;
        let left = n - done;
        if left < u64::from(LANES) {
            hits &= (1u32 << left) - 1;
        }
        if hits != 0 {
            return Some(base.wrapping_add(hits.trailing_zeros()));
        }
        done += u64::from(LANES);
    }
    None
}

/// First `lo` in `lo .. lo + n` whose outer H0 is `<= pre.t0`.
pub(super) fn scan(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    if !detected() {
        return super::portable::scan(pre, lo, n);
    }
    // SAFETY: the CPU feature `scan_impl` is compiled for was detected just above.
    unsafe { scan_impl(pre, lo, n) }
}

/// Outer H0 for the low nonce words `lo, lo + 1, …` (test hook; the CPU must have AVX2).
#[cfg(test)]
pub(super) fn h0s(pre: &Pre, lo: u32, out: &mut [u32]) {
    assert!(detected());
    for (i, chunk) in out.chunks_mut(LANES as usize).enumerate() {
        let base = lo.wrapping_add(i as u32 * LANES);
        // SAFETY: AVX2 was asserted above; `words` is a plain array of the vector's size.
        let words: [u32; 8] = unsafe { std::mem::transmute(h0_lanes(pre, base)) };
        chunk.copy_from_slice(&words[..chunk.len()]);
    }
}
