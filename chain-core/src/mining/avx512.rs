//! AVX-512 kernel: 16 nonces per `__m512i`, two independent vectors ("waves") interleaved
//! instruction by instruction, so 32 nonces per step.
//!
//! Rotations are single `vprold` instructions and every three-input boolean function (Ch, Maj
//! and the three-way XORs of Σ and σ) is a single `vpternlogd`. One wave leaves the out-of-order
//! core short of independent work (each round's chain is several instructions deep); a second
//! wave costs some register spills (two 16-word schedule windows and two states exceed the 32
//! vector registers) but measured faster; a third is slower again (see docs/PERFORMANCE.md).

use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_cmple_epu32_mask, _mm512_rol_epi32, _mm512_ror_epi32,
    _mm512_set1_epi32, _mm512_setr_epi32, _mm512_srli_epi32, _mm512_ternarylogic_epi32,
};

use super::sha256::{Pre, sha256d_h0};

/// Lanes per vector.
const LANES: u32 = 16;
/// Nonces per step: two vectors.
const STEP: u32 = 2 * LANES;

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

/// Two independent vectors of 16 lanes, operated on together.
#[derive(Clone, Copy)]
struct Waves(__m512i, __m512i);

/// Defines a lane-wise operation on both waves from one on a single vector.
macro_rules! waves {
    ($name:ident($($arg:ident),*) = $body:expr) => {
        #[inline]
        #[target_feature(enable = "avx512f,avx512vl")]
        fn $name($($arg: Waves),*) -> Waves {
            #[inline]
            #[target_feature(enable = "avx512f,avx512vl")]
            fn one($($arg: __m512i),*) -> __m512i {
                $body
            }
            Waves(one($($arg.0),*), one($($arg.1),*))
        }
    };
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn splat1(x: u32) -> __m512i {
    _mm512_set1_epi32(x as i32)
}

#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn splat(x: u32) -> Waves {
    Waves(splat1(x), splat1(x))
}

waves!(add(x, y) = _mm512_add_epi32(x, y));

waves!(
    bsig0(x) = _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<2>(x),
        _mm512_ror_epi32::<13>(x),
        _mm512_ror_epi32::<22>(x),
    )
);

waves!(
    bsig1(x) = _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<6>(x),
        _mm512_ror_epi32::<11>(x),
        _mm512_ror_epi32::<25>(x),
    )
);

waves!(
    ssig0(x) = _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<7>(x),
        _mm512_ror_epi32::<18>(x),
        _mm512_srli_epi32::<3>(x),
    )
);

waves!(
    ssig1(x) = _mm512_ternarylogic_epi32::<XOR3>(
        _mm512_ror_epi32::<17>(x),
        _mm512_ror_epi32::<19>(x),
        _mm512_srli_epi32::<10>(x),
    )
);

waves!(ch(e, f, g) = _mm512_ternarylogic_epi32::<SELECT>(e, f, g));

waves!(maj(a, b, c) = _mm512_ternarylogic_epi32::<MAJ>(a, b, c));

/// Big-endian reading of each lane's little-endian low nonce word `base + lane`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn nonce_words(base: u32) -> __m512i {
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let x = _mm512_add_epi32(splat1(base), lanes);
    // Byte swap: bytes 0 and 2 come from rol 8, bytes 1 and 3 from ror 8.
    _mm512_ternarylogic_epi32::<SELECT>(
        splat1(0x00ff_00ff),
        _mm512_rol_epi32::<8>(x),
        _mm512_ror_epi32::<8>(x),
    )
}

/// Outer H0 of the 32 nonces `base .. base + 32` (low words, wrapping).
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn h0_step(pre: &Pre, base: u32) -> Waves {
    let w4 = Waves(nonce_words(base), nonce_words(base.wrapping_add(LANES)));
    sha256d_h0!(pre, w4)
}

#[target_feature(enable = "avx512f,avx512vl")]
fn scan_impl(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    let t0 = splat1(pre.t0);
    let mut done = 0u64;
    while done < n {
        let base = lo.wrapping_add(done as u32);
        let h0 = h0_step(pre, base);
        let mut hits = u32::from(_mm512_cmple_epu32_mask(h0.0, t0))
            | u32::from(_mm512_cmple_epu32_mask(h0.1, t0)) << LANES;
        let left = n - done;
        if left < u64::from(STEP) {
            hits &= (1u32 << left) - 1;
        }
        if hits != 0 {
            return Some(base.wrapping_add(hits.trailing_zeros()));
        }
        done += u64::from(STEP);
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
    for (i, chunk) in out.chunks_mut(STEP as usize).enumerate() {
        let base = lo.wrapping_add(i as u32 * STEP);
        // SAFETY: the CPU features were asserted above; each `[u32; 16]` is a plain array of
        // the same size as one vector.
        let words: [[u32; 16]; 2] = unsafe {
            let h0 = h0_step(pre, base);
            [
                std::mem::transmute::<__m512i, [u32; 16]>(h0.0),
                std::mem::transmute::<__m512i, [u32; 16]>(h0.1),
            ]
        };
        let words = words.as_flattened();
        chunk.copy_from_slice(&words[..chunk.len()]);
    }
}
