//! SHA-NI kernel: the x86 SHA extensions (`sha256rnds2`, `sha256msg1`, `sha256msg2`),
//! specialised to the header and interleaving [`WAYS`] nonces.
//!
//! One `sha256rnds2` does two rounds but depends on the previous one's result, so a single
//! hash waits on its latency; independent nonces interleaved instruction by instruction keep
//! the SHA unit busy instead. Per nonce: the second block starts after round 3 (rounds 0..=3
//! only see constant words), the message words are built directly as the state's word order
//! needs them (no byte swaps besides the nonce's own), and the inner digest becomes the outer
//! message with four register shuffles.

// Several arrays of per-nonce registers are indexed in lockstep; index loops say that best.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_insert_epi32, _mm_set_epi32,
    _mm_setr_epi32, _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32,
    _mm_sha256rnds2_epu32, _mm_shuffle_epi32, _mm_unpackhi_epi64, _mm_unpacklo_epi64,
};

use super::sha256::{INNER_BITS, IV, K, OUTER_BITS, OUTER_PAD, Pre};

/// Nonces hashed side by side: 4 measured fastest (1, 2, 4 and 8 were tried; see
/// docs/PERFORMANCE.md). Fewer leave the SHA unit waiting on `sha256rnds2` latency; more spill
/// the 16 legacy-encoded XMM registers the SHA instructions can use.
const WAYS: usize = 4;

/// Whether this CPU can run the kernel.
pub(super) fn detected() -> bool {
    is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse4.1")
        && is_x86_feature_detected!("ssse3")
}

/// Per-job vectors shared by every nonce of a scan.
struct Consts {
    /// Inner state after rounds 0..=3, as (A, B, E, F) and (C, D, G, H) register pairs.
    abef4: __m128i,
    cdgh4: __m128i,
    /// Message words 0..4 of the second block.
    m0: __m128i,
    /// Message words 4..8 with W4 = 0.
    m1: __m128i,
    /// Message words 12..16.
    m3: __m128i,
    /// K + W for rounds 4..8 with W4 = 0, rounds 6..8 in the low half, 8..12 and 12..16.
    wk4: __m128i,
    wk6: __m128i,
    wk8: __m128i,
    wk12: __m128i,
    /// Midstate register pair.
    mid_abef: __m128i,
    mid_cdgh: __m128i,
}

/// State words a..h as the (A, B, E, F) and (C, D, G, H) registers `sha256rnds2` uses.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn state_pair(s: [u32; 8]) -> (__m128i, __m128i) {
    let s = s.map(|w| w as i32);
    (
        _mm_set_epi32(s[0], s[1], s[4], s[5]),
        _mm_set_epi32(s[2], s[3], s[6], s[7]),
    )
}

#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn words(w: [u32; 4]) -> __m128i {
    let w = w.map(|w| w as i32);
    _mm_setr_epi32(w[0], w[1], w[2], w[3])
}

/// K[i..i + 4].
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn kv(i: usize) -> __m128i {
    words([K[i], K[i + 1], K[i + 2], K[i + 3]])
}

impl Consts {
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn new(pre: &Pre) -> Self {
        let w = pre.w;
        let (abef4, cdgh4) = state_pair(pre.s4);
        let (mid_abef, mid_cdgh) = state_pair(pre.mid);
        let m1 = words([0, w[5], w[6], w[7]]);
        let wk4 = _mm_add_epi32(m1, kv(4));
        debug_assert_eq!(w[15], INNER_BITS);
        Consts {
            abef4,
            cdgh4,
            m0: words([w[0], w[1], w[2], w[3]]),
            m1,
            m3: words([w[12], w[13], w[14], w[15]]),
            wk4,
            wk6: _mm_unpackhi_epi64(wk4, wk4),
            wk8: _mm_add_epi32(words([w[8], w[9], w[10], w[11]]), kv(8)),
            wk12: _mm_add_epi32(words([w[12], w[13], w[14], w[15]]), kv(12)),
            mid_abef,
            mid_cdgh,
        }
    }
}

/// Four rounds on every nonce: `$wk[j]` holds K + W for them.
macro_rules! rounds4 {
    ($abef:ident, $cdgh:ident, $wk:expr) => {{
        let wk: [__m128i; N] = $wk;
        for j in 0..N {
            $cdgh[j] = _mm_sha256rnds2_epu32($cdgh[j], $abef[j], wk[j]);
        }
        for j in 0..N {
            $abef[j] = _mm_sha256rnds2_epu32($abef[j], $cdgh[j], _mm_shuffle_epi32::<0x0E>(wk[j]));
        }
    }};
}

/// The next four message words, in place of the oldest (`$m0`), then their four rounds
/// (`$first` is the index of the first of them).
macro_rules! step {
    ($abef:ident, $cdgh:ident, $m0:ident, $m1:ident, $m2:ident, $m3:ident, $first:expr) => {{
        let k = kv($first);
        let mut wk = [k; N];
        for j in 0..N {
            let t = _mm_add_epi32(
                _mm_sha256msg1_epu32($m0[j], $m1[j]),
                _mm_alignr_epi8::<4>($m3[j], $m2[j]),
            );
            $m0[j] = _mm_sha256msg2_epu32(t, $m3[j]);
            wk[j] = _mm_add_epi32($m0[j], k);
        }
        rounds4!($abef, $cdgh, wk);
    }};
}

/// Rounds 16..64, computing the schedule on the way (fully unrolled).
macro_rules! rounds16_64 {
    ($abef:ident, $cdgh:ident, $m0:ident, $m1:ident, $m2:ident, $m3:ident) => {{
        step!($abef, $cdgh, $m0, $m1, $m2, $m3, 16);
        step!($abef, $cdgh, $m1, $m2, $m3, $m0, 20);
        step!($abef, $cdgh, $m2, $m3, $m0, $m1, 24);
        step!($abef, $cdgh, $m3, $m0, $m1, $m2, 28);
        step!($abef, $cdgh, $m0, $m1, $m2, $m3, 32);
        step!($abef, $cdgh, $m1, $m2, $m3, $m0, 36);
        step!($abef, $cdgh, $m2, $m3, $m0, $m1, 40);
        step!($abef, $cdgh, $m3, $m0, $m1, $m2, 44);
        step!($abef, $cdgh, $m0, $m1, $m2, $m3, 48);
        step!($abef, $cdgh, $m1, $m2, $m3, $m0, 52);
        step!($abef, $cdgh, $m2, $m3, $m0, $m1, 56);
        step!($abef, $cdgh, $m3, $m0, $m1, $m2, 60);
    }};
}

/// Outer H0 for N nonces whose second-block word 4 is `w4[j]`.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn h0_group<const N: usize>(c: &Consts, w4: [u32; N]) -> [u32; N] {
    // Inner hash, second block, from round 4.
    let mut abef = [c.abef4; N];
    let mut cdgh = [c.cdgh4; N];
    let mut m0 = [c.m0; N];
    let mut m1 = [c.m1; N];
    let mut m2 = [_mm_setzero_si128(); N];
    let mut m3 = [c.m3; N];
    let mut wk = [c.wk4; N];
    for j in 0..N {
        m1[j] = _mm_insert_epi32::<0>(c.m1, w4[j] as i32);
        wk[j] = _mm_insert_epi32::<0>(c.wk4, w4[j].wrapping_add(K[4]) as i32);
    }
    for j in 0..N {
        cdgh[j] = _mm_sha256rnds2_epu32(cdgh[j], abef[j], wk[j]);
    }
    for j in 0..N {
        abef[j] = _mm_sha256rnds2_epu32(abef[j], cdgh[j], c.wk6);
    }
    rounds4!(abef, cdgh, [c.wk8; N]);
    rounds4!(abef, cdgh, [c.wk12; N]);
    rounds16_64!(abef, cdgh, m0, m1, m2, m3);

    // Inner digest (state + midstate) is the outer message: words 0..4 and 4..8.
    for j in 0..N {
        let abef_h = _mm_add_epi32(abef[j], c.mid_abef);
        let cdgh_h = _mm_add_epi32(cdgh[j], c.mid_cdgh);
        m0[j] = _mm_shuffle_epi32::<0x1B>(_mm_unpackhi_epi64(cdgh_h, abef_h));
        m1[j] = _mm_shuffle_epi32::<0x1B>(_mm_unpacklo_epi64(cdgh_h, abef_h));
    }
    m2 = [words([OUTER_PAD, 0, 0, 0]); N];
    m3 = [words([0, 0, 0, OUTER_BITS]); N];
    let (iv_abef, iv_cdgh) = state_pair(IV);
    abef = [iv_abef; N];
    cdgh = [iv_cdgh; N];
    let k0 = kv(0);
    let k4 = kv(4);
    rounds4!(
        abef,
        cdgh,
        std::array::from_fn(|j| _mm_add_epi32(m0[j], k0))
    );
    rounds4!(
        abef,
        cdgh,
        std::array::from_fn(|j| _mm_add_epi32(m1[j], k4))
    );
    rounds4!(
        abef,
        cdgh,
        [words([K[8].wrapping_add(OUTER_PAD), K[9], K[10], K[11]]); N]
    );
    rounds4!(
        abef,
        cdgh,
        [words([K[12], K[13], K[14], K[15].wrapping_add(OUTER_BITS)]); N]
    );
    rounds16_64!(abef, cdgh, m0, m1, m2, m3);

    let mut h0 = [0u32; N];
    for j in 0..N {
        h0[j] = (_mm_extract_epi32::<3>(abef[j]) as u32).wrapping_add(IV[0]);
    }
    h0
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn scan_impl<const N: usize>(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    let c = Consts::new(pre);
    let mut done = 0u64;
    while done < n {
        let base = lo.wrapping_add(done as u32);
        let w4: [u32; N] = std::array::from_fn(|j| base.wrapping_add(j as u32).swap_bytes());
        let h0 = h0_group::<N>(&c, w4);
        let valid = (n - done).min(N as u64) as usize;
        if let Some(j) = h0[..valid].iter().position(|&h| h <= pre.t0) {
            return Some(base.wrapping_add(j as u32));
        }
        done += N as u64;
    }
    None
}

/// First `lo` in `lo .. lo + n` whose outer H0 is `<= pre.t0`.
pub(super) fn scan(pre: &Pre, lo: u32, n: u64) -> Option<u32> {
    if !detected() {
        return super::portable::scan(pre, lo, n);
    }
    // SAFETY: the CPU features `scan_impl` is compiled for were detected just above.
    unsafe { scan_impl::<WAYS>(pre, lo, n) }
}

/// Outer H0 for the low nonce words `lo, lo + 1, …` (test hook; the CPU must have the features).
#[cfg(test)]
pub(super) fn h0s(pre: &Pre, lo: u32, out: &mut [u32]) {
    assert!(detected());
    for (i, chunk) in out.chunks_mut(WAYS).enumerate() {
        let base = lo.wrapping_add((i * WAYS) as u32);
        let w4: [u32; WAYS] = std::array::from_fn(|j| base.wrapping_add(j as u32).swap_bytes());
        // SAFETY: the CPU features were asserted above.
        let h0 = unsafe { h0_group::<WAYS>(&Consts::new(pre), w4) };
        chunk.copy_from_slice(&h0[..chunk.len()]);
    }
}
