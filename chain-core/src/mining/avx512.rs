//! AVX-512 kernel: 16 nonces per `__m512i`, one wave (a second interleaved wave only adds
//! register spills: the 16-word schedule window, 8 state words and temporaries already fill the
//! 32 vector registers).
//!
//! Rotations are single `vprord` instructions and every three-input boolean function (Ch, Maj
//! and the three-way XORs of Σ and σ) is a single `vpternlogd`.

use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_cmple_epu32_mask, _mm512_rol_epi32, _mm512_ror_epi32,
    _mm512_set1_epi32, _mm512_setr_epi32, _mm512_srli_epi32, _mm512_ternarylogic_epi32,
};

use super::sha256::{Pre, sha256d_h0};

/// Lanes per vector.
const LANES: u32 = 16;

/// `vpternlogd` truth tables (operand order a, b, c).
const XOR3: i32 = 0x96;
/// a ? b : c
const SELECT: i32 = 0xCA;
/// majority(a, b, c)
const MAJ: i32 = 0xE8;

/// Whether this CPU can run the kernel.
pub(super) fn detected() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl")
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn splat(x: u32) -> __m512i {
    _mm512_set1_epi32(x as i32)
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn add(x: __m512i, y: __m512i) -> __m512i {
    _mm512_add_epi32(x, y)
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn bsig0(x: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<2>(x),
        _mm512_ror_epi32::<13>(x),
        _mm512_ror_epi32::<22>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn bsig1(x: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<6>(x),
        _mm512_ror_epi32::<11>(x),
        _mm512_ror_epi32::<25>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn ssig0(x: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<7>(x),
        _mm512_ror_epi32::<18>(x),
        _mm512_srli_epi32::<3>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn ssig1(x: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<17>(x),
        _mm512_ror_epi32::<19>(x),
        _mm512_srli_epi32::<10>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn ch(e: __m512i, f: __m512i, g: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<SELECT>(e, f, g)
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn maj(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<MAJ>(a, b, c)
}

/// Big-endian reading of each lane's little-endian low nonce word `base + lane`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn nonce_words(base: u32) -> __m512i {
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let x = _mm512_add_epi32(splat(base), lanes);
    // Byte swap: bytes 0 and 2 come from rol 8, bytes 1 and 3 from ror 8.
    _mm512_ternarylogic_epi32::<SELECT>(
        splat(0x00ff_00ff),
        _mm512_rol_epi32::<8>(x),
        _mm512_ror_epi32::<8>(x),
    )
}

/// Outer H0 of the 16 nonces `base .. base + 16` (low words).
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn h0_lanes(pre: &Pre, base: u32) -> __m512i {
    sha256d_h0!(pre, nonce_words(base))
}

#[target_feature(enable = "avx512f,avx512vl")]
fn scan_impl(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    let t0 = splat(pre.t0);
    let mut done = 0u64;
    while done < n {
        let base = lo.wrapping_add(done as u32);
        let mut hits = _mm512_cmple_epu32_mask(h0_lanes(pre, base), t0);
        let left = n - done;
        if left < u64::from(LANES) {
            hits &= (1u16 << left) - 1;
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
    // SAFETY: the CPU features `scan_impl` is compiled for were detected just above.
    unsafe { scan_impl(pre, lo, n) }
}

/// Outer H0 for the low nonce words `lo, lo + 1, …` (test hook; the CPU must have the features).
#[cfg(test)]
pub(super) fn h0s(pre: &Pre, lo: u32, out: &mut [u32]) {
    assert!(detected());
    for (i, chunk) in out.chunks_mut(LANES as usize).enumerate() {
        let base = lo.wrapping_add(i as u32 * LANES);
        // SAFETY: the CPU features were asserted above; `words` is a plain array of the same
        // size as the vector.
        let words: [u32; 16] = unsafe { std::mem::transmute(h0_lanes(pre, base)) };
        chunk.copy_from_slice(&words[..chunk.len()]);
    }
}
