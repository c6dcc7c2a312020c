//! SHA-256 pieces shared by the mining kernels: constants, scalar helpers, the per-job
//! precomputation ([`Pre`]) and the lane-generic specialised double hash ([`sha256d_h0!`]).
//!
//! Everything here is plain safe Rust; the kernels supply the lane arithmetic.

use super::Midstate;

/// SHA-256 round constants.
pub(crate) const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// SHA-256 initial hash value.
pub(crate) const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Padding word that follows the 24 header bytes in the second block (word 6).
pub(crate) const INNER_PAD: u32 = 0x8000_0000;
/// Bit length of the 88-byte header (word 15 of the second block).
pub(crate) const INNER_BITS: u32 = 88 * 8;
/// Padding word that follows the 32-byte inner digest (word 8 of the outer block).
pub(crate) const OUTER_PAD: u32 = 0x8000_0000;
/// Bit length of the inner digest (word 15 of the outer block).
pub(crate) const OUTER_BITS: u32 = 256;

/// Σ0.
#[inline(always)]
pub(crate) const fn bsig0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}

/// Σ1.
#[inline(always)]
pub(crate) const fn bsig1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}

/// σ0.
#[inline(always)]
pub(crate) const fn ssig0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

/// σ1.
#[inline(always)]
pub(crate) const fn ssig1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// Ch(e, f, g).
#[inline(always)]
pub(crate) const fn ch(e: u32, f: u32, g: u32) -> u32 {
    (e & f) ^ (!e & g)
}

/// Maj(a, b, c).
#[inline(always)]
pub(crate) const fn maj(a: u32, b: u32, c: u32) -> u32 {
    (a & b) ^ (a & c) ^ (b & c)
}

/// One SHA-256 round on state `s` (a..h) with `kw` = K[i] + W[i].
pub(crate) const fn round(s: [u32; 8], kw: u32) -> [u32; 8] {
    let [a, b, c, d, e, f, g, h] = s;
    let t1 = h
        .wrapping_add(bsig1(e))
        .wrapping_add(ch(e, f, g))
        .wrapping_add(kw);
    let t2 = bsig0(a).wrapping_add(maj(a, b, c));
    [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g]
}

/// Round 0 of the outer hash, minus its message word: T1 without W0.
const OUTER_T1: u32 = IV[7]
    .wrapping_add(bsig1(IV[4]))
    .wrapping_add(ch(IV[4], IV[5], IV[6]))
    .wrapping_add(K[0]);
/// Outer state word a after round 0 is `x0 + OUTER_A1`.
pub(crate) const OUTER_A1: u32 = OUTER_T1
    .wrapping_add(bsig0(IV[0]))
    .wrapping_add(maj(IV[0], IV[1], IV[2]));
/// Outer state word e after round 0 is `x0 + OUTER_E1`.
pub(crate) const OUTER_E1: u32 = IV[3].wrapping_add(OUTER_T1);
/// Constant part of outer schedule word 17: σ1(x15).
pub(crate) const OUTER_X17: u32 = ssig1(OUTER_BITS);
/// Constant part of outer schedule word 22: x15.
pub(crate) const OUTER_X22: u32 = OUTER_BITS;
/// Constant part of outer schedule word 23: σ0(x8).
pub(crate) const OUTER_X23: u32 = ssig0(OUTER_PAD);
/// Constant part of outer schedule word 24: x8.
pub(crate) const OUTER_X24: u32 = OUTER_PAD;
/// Constant part of outer schedule word 30: σ0(x15).
pub(crate) const OUTER_X30: u32 = ssig0(OUTER_BITS);
/// Constant part of outer schedule word 31: x15.
pub(crate) const OUTER_X31: u32 = OUTER_BITS;
/// K[i] + W[i] of the outer block for the constant words 8..=15 (other entries unused).
pub(crate) const OUTER_KW: [u32; 16] = {
    let mut kw = [0u32; 16];
    let mut i = 8;
    while i < 16 {
        kw[i] = K[i];
        i += 1;
    }
    kw[8] = K[8].wrapping_add(OUTER_PAD);
    kw[15] = K[15].wrapping_add(OUTER_BITS);
    kw
};

/// Everything about one job and one value of the nonce's high 32 bits that does not depend on
/// the nonce's low 32 bits.
///
/// Second block words: W0..W3 = merkle tail, time, bits (constant), W4 = low nonce word (the
/// only per-nonce input), W5 = high nonce word (constant here), W6 = padding, W7..W14 = 0,
/// W15 = 704.
#[derive(Clone, Debug)]
pub(crate) struct Pre {
    /// First big-endian word of the target: a nonce is a candidate iff outer H0 <= `t0`.
    pub(crate) t0: u32,
    /// Midstate after the first 64 header bytes.
    pub(crate) mid: [u32; 8],
    /// Second-block words with W4 = 0.
    pub(crate) w: [u32; 16],
    /// State after rounds 0..=3 of the second block.
    pub(crate) s4: [u32; 8],
    /// State word a after round 4 is `W4 + a5`.
    pub(crate) a5: u32,
    /// State word e after round 4 is `W4 + e5`.
    pub(crate) e5: u32,
    /// K[i] + W[i] for the constant rounds 5..=18 (other entries unused).
    pub(crate) kw: [u32; 19],
    /// Schedule word 16 (constant).
    pub(crate) w16: u32,
    /// Schedule word 17 (constant).
    pub(crate) w17: u32,
    /// Schedule word 18 (constant).
    pub(crate) w18: u32,
    /// W19 = c19 + σ0(W4).
    pub(crate) c19: u32,
    /// W20 = c20 + W4.
    pub(crate) c20: u32,
    /// W21 = σ1(W19) + c21.
    pub(crate) c21: u32,
    /// W22 = σ1(W20) + c22.
    pub(crate) c22: u32,
    /// W30 = σ1(W28) + W23 + c30.
    pub(crate) c30: u32,
    /// W31 = σ1(W29) + W24 + c31.
    pub(crate) c31: u32,
    /// W32 = σ1(W30) + W25 + c32.
    pub(crate) c32: u32,
    /// W33 = σ1(W31) + W26 + c33.
    pub(crate) c33: u32,
}

impl Pre {
    /// Precomputes for nonces whose high 32 bits are `hi`.
    pub(crate) fn new(mid: &Midstate, target: &[u8; 32], hi: u32) -> Self {
        let t0 = u32::from_be_bytes([target[0], target[1], target[2], target[3]]);
        let tail = mid.tail();
        let mut w = [0u32; 16];
        w[..4].copy_from_slice(&tail);
        w[5] = hi.swap_bytes();
        w[6] = INNER_PAD;
        w[15] = INNER_BITS;

        let mut s = mid.state();
        let mut i = 0;
        while i < 4 {
            s = round(s, K[i].wrapping_add(w[i]));
            i += 1;
        }
        let s4 = s;
        let [a, b, c, d, e, f, g, h] = s4;
        let t1 = h
            .wrapping_add(bsig1(e))
            .wrapping_add(ch(e, f, g))
            .wrapping_add(K[4]);
        let t2 = bsig0(a).wrapping_add(maj(a, b, c));

        let w16 = ssig0(w[1]).wrapping_add(w[0]);
        let w17 = ssig1(w[15]).wrapping_add(ssig0(w[2])).wrapping_add(w[1]);
        let w18 = ssig1(w16).wrapping_add(ssig0(w[3])).wrapping_add(w[2]);
        let mut kw = [0u32; 19];
        for (i, slot) in kw.iter_mut().enumerate().skip(5) {
            *slot = K[i].wrapping_add(match i {
                16 => w16,
                17 => w17,
                18 => w18,
                _ => w[i],
            });
        }
        Pre {
            t0,
            mid: mid.state(),
            w,
            s4,
            a5: t1.wrapping_add(t2),
            e5: d.wrapping_add(t1),
            kw,
            w16,
            w17,
            w18,
            c19: ssig1(w17).wrapping_add(w[3]),
            c20: ssig1(w18).wrapping_add(ssig0(w[5])),
            c21: ssig0(w[6]).wrapping_add(w[5]),
            c22: w[15].wrapping_add(w[6]),
            c30: ssig0(w[15]),
            c31: ssig0(w16).wrapping_add(w[15]),
            c32: ssig0(w17).wrapping_add(w16),
            c33: ssig0(w18).wrapping_add(w17),
        }
    }
}

/// The specialised SHA-256d of one header, generic over the lane type.
///
/// `sha256d_h0!(pre, w4)` evaluates to the outer hash's first state word H0 (the most
/// significant 32 bits of the hash read big-endian) for every lane, where `w4` holds the
/// big-endian reading of each lane's low nonce word and `pre: &Pre` the rest of the job.
///
/// The expansion site must provide, for its lane type `V`: `splat(u32) -> V`,
/// `add(V, V) -> V`, `bsig0`, `bsig1`, `ssig0`, `ssig1` (`V -> V`), `ch(V, V, V) -> V` and
/// `maj(V, V, V) -> V`. The code is written in SSA form, one `let` per value, so the
/// compiler sees exactly which words are constant (`splat`) and which vary per lane.
/// The last outer round only computes the state word a, as nothing else is compared.
macro_rules! sha256d_h0 {
    ($pre:expr, $w4:expr) => {{
        let pre: &$crate::mining::sha256::Pre = $pre;
        let w4 = $w4;
        #[allow(unused_imports)]
        use $crate::mining::sha256::{
            IV, K, OUTER_A1, OUTER_E1, OUTER_KW, OUTER_X17, OUTER_X22, OUTER_X23, OUTER_X24,
            OUTER_X30, OUTER_X31,
        };
        // Second block of the header, rounds 0..=4 folded into `pre`.
        let a5 = add(splat(pre.a5), w4);
        let a4 = splat(pre.s4[0]);
        let a3 = splat(pre.s4[1]);
        let a2 = splat(pre.s4[2]);
        let e5 = add(splat(pre.e5), w4);
        let e4 = splat(pre.s4[4]);
        let e3 = splat(pre.s4[5]);
        let e2 = splat(pre.s4[6]);
        let ta5 = add(add(e2, splat(pre.kw[5])), add(bsig1(e5), ch(e5, e4, e3)));
        let e6 = add(a2, ta5);
        let a6 = add(ta5, add(bsig0(a5), maj(a5, a4, a3)));
        let ta6 = add(add(e3, splat(pre.kw[6])), add(bsig1(e6), ch(e6, e5, e4)));
        let e7 = add(a3, ta6);
        let a7 = add(ta6, add(bsig0(a6), maj(a6, a5, a4)));
        let ta7 = add(add(e4, splat(pre.kw[7])), add(bsig1(e7), ch(e7, e6, e5)));
        let e8 = add(a4, ta7);
        let a8 = add(ta7, add(bsig0(a7), maj(a7, a6, a5)));
        let ta8 = add(add(e5, splat(pre.kw[8])), add(bsig1(e8), ch(e8, e7, e6)));
        let e9 = add(a5, ta8);
        let a9 = add(ta8, add(bsig0(a8), maj(a8, a7, a6)));
        let ta9 = add(add(e6, splat(pre.kw[9])), add(bsig1(e9), ch(e9, e8, e7)));
        let e10 = add(a6, ta9);
        let a10 = add(ta9, add(bsig0(a9), maj(a9, a8, a7)));
        let ta10 = add(add(e7, splat(pre.kw[10])), add(bsig1(e10), ch(e10, e9, e8)));
        let e11 = add(a7, ta10);
        let a11 = add(ta10, add(bsig0(a10), maj(a10, a9, a8)));
        let ta11 = add(
            add(e8, splat(pre.kw[11])),
            add(bsig1(e11), ch(e11, e10, e9)),
        );
        let e12 = add(a8, ta11);
        let a12 = add(ta11, add(bsig0(a11), maj(a11, a10, a9)));
        let ta12 = add(
            add(e9, splat(pre.kw[12])),
            add(bsig1(e12), ch(e12, e11, e10)),
        );
        let e13 = add(a9, ta12);
        let a13 = add(ta12, add(bsig0(a12), maj(a12, a11, a10)));
        let ta13 = add(
            add(e10, splat(pre.kw[13])),
            add(bsig1(e13), ch(e13, e12, e11)),
        );
        let e14 = add(a10, ta13);
        let a14 = add(ta13, add(bsig0(a13), maj(a13, a12, a11)));
        let ta14 = add(
            add(e11, splat(pre.kw[14])),
            add(bsig1(e14), ch(e14, e13, e12)),
        );
        let e15 = add(a11, ta14);
        let a15 = add(ta14, add(bsig0(a14), maj(a14, a13, a12)));
        let ta15 = add(
            add(e12, splat(pre.kw[15])),
            add(bsig1(e15), ch(e15, e14, e13)),
        );
        let e16 = add(a12, ta15);
        let a16 = add(ta15, add(bsig0(a15), maj(a15, a14, a13)));
        let ta16 = add(
            add(e13, splat(pre.kw[16])),
            add(bsig1(e16), ch(e16, e15, e14)),
        );
        let e17 = add(a13, ta16);
        let a17 = add(ta16, add(bsig0(a16), maj(a16, a15, a14)));
        let ta17 = add(
            add(e14, splat(pre.kw[17])),
            add(bsig1(e17), ch(e17, e16, e15)),
        );
        let e18 = add(a14, ta17);
        let a18 = add(ta17, add(bsig0(a17), maj(a17, a16, a15)));
        let ta18 = add(
            add(e15, splat(pre.kw[18])),
            add(bsig1(e18), ch(e18, e17, e16)),
        );
        let e19 = add(a15, ta18);
        let a19 = add(ta18, add(bsig0(a18), maj(a18, a17, a16)));
        let w19 = add(splat(pre.c19), ssig0(w4));
        let ta19 = add(
            add(e16, add(w19, splat(K[19]))),
            add(bsig1(e19), ch(e19, e18, e17)),
        );
        let e20 = add(a16, ta19);
        let a20 = add(ta19, add(bsig0(a19), maj(a19, a18, a17)));
        let w20 = add(splat(pre.c20), w4);
        let ta20 = add(
            add(e17, add(w20, splat(K[20]))),
            add(bsig1(e20), ch(e20, e19, e18)),
        );
        let e21 = add(a17, ta20);
        let a21 = add(ta20, add(bsig0(a20), maj(a20, a19, a18)));
        let w21 = add(ssig1(w19), splat(pre.c21));
        let ta21 = add(
            add(e18, add(w21, splat(K[21]))),
            add(bsig1(e21), ch(e21, e20, e19)),
        );
        let e22 = add(a18, ta21);
        let a22 = add(ta21, add(bsig0(a21), maj(a21, a20, a19)));
        let w22 = add(ssig1(w20), splat(pre.c22));
        let ta22 = add(
            add(e19, add(w22, splat(K[22]))),
            add(bsig1(e22), ch(e22, e21, e20)),
        );
        let e23 = add(a19, ta22);
        let a23 = add(ta22, add(bsig0(a22), maj(a22, a21, a20)));
        let w23 = add(ssig1(w21), splat(pre.w16));
        let ta23 = add(
            add(e20, add(w23, splat(K[23]))),
            add(bsig1(e23), ch(e23, e22, e21)),
        );
        let e24 = add(a20, ta23);
        let a24 = add(ta23, add(bsig0(a23), maj(a23, a22, a21)));
        let w24 = add(ssig1(w22), splat(pre.w17));
        let ta24 = add(
            add(e21, add(w24, splat(K[24]))),
            add(bsig1(e24), ch(e24, e23, e22)),
        );
        let e25 = add(a21, ta24);
        let a25 = add(ta24, add(bsig0(a24), maj(a24, a23, a22)));
        let w25 = add(ssig1(w23), splat(pre.w18));
        let ta25 = add(
            add(e22, add(w25, splat(K[25]))),
            add(bsig1(e25), ch(e25, e24, e23)),
        );
        let e26 = add(a22, ta25);
        let a26 = add(ta25, add(bsig0(a25), maj(a25, a24, a23)));
        let w26 = add(ssig1(w24), w19);
        let ta26 = add(
            add(e23, add(w26, splat(K[26]))),
            add(bsig1(e26), ch(e26, e25, e24)),
        );
        let e27 = add(a23, ta26);
        let a27 = add(ta26, add(bsig0(a26), maj(a26, a25, a24)));
        let w27 = add(ssig1(w25), w20);
        let ta27 = add(
            add(e24, add(w27, splat(K[27]))),
            add(bsig1(e27), ch(e27, e26, e25)),
        );
        let e28 = add(a24, ta27);
        let a28 = add(ta27, add(bsig0(a27), maj(a27, a26, a25)));
        let w28 = add(ssig1(w26), w21);
        let ta28 = add(
            add(e25, add(w28, splat(K[28]))),
            add(bsig1(e28), ch(e28, e27, e26)),
        );
        let e29 = add(a25, ta28);
        let a29 = add(ta28, add(bsig0(a28), maj(a28, a27, a26)));
        let w29 = add(ssig1(w27), w22);
        let ta29 = add(
            add(e26, add(w29, splat(K[29]))),
            add(bsig1(e29), ch(e29, e28, e27)),
        );
        let e30 = add(a26, ta29);
        let a30 = add(ta29, add(bsig0(a29), maj(a29, a28, a27)));
        let w30 = add(add(ssig1(w28), w23), splat(pre.c30));
        let ta30 = add(
            add(e27, add(w30, splat(K[30]))),
            add(bsig1(e30), ch(e30, e29, e28)),
        );
        let e31 = add(a27, ta30);
        let a31 = add(ta30, add(bsig0(a30), maj(a30, a29, a28)));
        let w31 = add(add(ssig1(w29), w24), splat(pre.c31));
        let ta31 = add(
            add(e28, add(w31, splat(K[31]))),
            add(bsig1(e31), ch(e31, e30, e29)),
        );
        let e32 = add(a28, ta31);
        let a32 = add(ta31, add(bsig0(a31), maj(a31, a30, a29)));
        let w32 = add(add(ssig1(w30), w25), splat(pre.c32));
        let ta32 = add(
            add(e29, add(w32, splat(K[32]))),
            add(bsig1(e32), ch(e32, e31, e30)),
        );
        let e33 = add(a29, ta32);
        let a33 = add(ta32, add(bsig0(a32), maj(a32, a31, a30)));
        let w33 = add(add(ssig1(w31), w26), splat(pre.c33));
        let ta33 = add(
            add(e30, add(w33, splat(K[33]))),
            add(bsig1(e33), ch(e33, e32, e31)),
        );
        let e34 = add(a30, ta33);
        let a34 = add(ta33, add(bsig0(a33), maj(a33, a32, a31)));
        let w34 = add(add(ssig1(w32), w27), add(ssig0(w19), splat(pre.w18)));
        let ta34 = add(
            add(e31, add(w34, splat(K[34]))),
            add(bsig1(e34), ch(e34, e33, e32)),
        );
        let e35 = add(a31, ta34);
        let a35 = add(ta34, add(bsig0(a34), maj(a34, a33, a32)));
        let w35 = add(add(ssig1(w33), w28), add(ssig0(w20), w19));
        let ta35 = add(
            add(e32, add(w35, splat(K[35]))),
            add(bsig1(e35), ch(e35, e34, e33)),
        );
        let e36 = add(a32, ta35);
        let a36 = add(ta35, add(bsig0(a35), maj(a35, a34, a33)));
        let w36 = add(add(ssig1(w34), w29), add(ssig0(w21), w20));
        let ta36 = add(
            add(e33, add(w36, splat(K[36]))),
            add(bsig1(e36), ch(e36, e35, e34)),
        );
        let e37 = add(a33, ta36);
        let a37 = add(ta36, add(bsig0(a36), maj(a36, a35, a34)));
        let w37 = add(add(ssig1(w35), w30), add(ssig0(w22), w21));
        let ta37 = add(
            add(e34, add(w37, splat(K[37]))),
            add(bsig1(e37), ch(e37, e36, e35)),
        );
        let e38 = add(a34, ta37);
        let a38 = add(ta37, add(bsig0(a37), maj(a37, a36, a35)));
        let w38 = add(add(ssig1(w36), w31), add(ssig0(w23), w22));
        let ta38 = add(
            add(e35, add(w38, splat(K[38]))),
            add(bsig1(e38), ch(e38, e37, e36)),
        );
        let e39 = add(a35, ta38);
        let a39 = add(ta38, add(bsig0(a38), maj(a38, a37, a36)));
        let w39 = add(add(ssig1(w37), w32), add(ssig0(w24), w23));
        let ta39 = add(
            add(e36, add(w39, splat(K[39]))),
            add(bsig1(e39), ch(e39, e38, e37)),
        );
        let e40 = add(a36, ta39);
        let a40 = add(ta39, add(bsig0(a39), maj(a39, a38, a37)));
        let w40 = add(add(ssig1(w38), w33), add(ssig0(w25), w24));
        let ta40 = add(
            add(e37, add(w40, splat(K[40]))),
            add(bsig1(e40), ch(e40, e39, e38)),
        );
        let e41 = add(a37, ta40);
        let a41 = add(ta40, add(bsig0(a40), maj(a40, a39, a38)));
        let w41 = add(add(ssig1(w39), w34), add(ssig0(w26), w25));
        let ta41 = add(
            add(e38, add(w41, splat(K[41]))),
            add(bsig1(e41), ch(e41, e40, e39)),
        );
        let e42 = add(a38, ta41);
        let a42 = add(ta41, add(bsig0(a41), maj(a41, a40, a39)));
        let w42 = add(add(ssig1(w40), w35), add(ssig0(w27), w26));
        let ta42 = add(
            add(e39, add(w42, splat(K[42]))),
            add(bsig1(e42), ch(e42, e41, e40)),
        );
        let e43 = add(a39, ta42);
        let a43 = add(ta42, add(bsig0(a42), maj(a42, a41, a40)));
        let w43 = add(add(ssig1(w41), w36), add(ssig0(w28), w27));
        let ta43 = add(
            add(e40, add(w43, splat(K[43]))),
            add(bsig1(e43), ch(e43, e42, e41)),
        );
        let e44 = add(a40, ta43);
        let a44 = add(ta43, add(bsig0(a43), maj(a43, a42, a41)));
        let w44 = add(add(ssig1(w42), w37), add(ssig0(w29), w28));
        let ta44 = add(
            add(e41, add(w44, splat(K[44]))),
            add(bsig1(e44), ch(e44, e43, e42)),
        );
        let e45 = add(a41, ta44);
        let a45 = add(ta44, add(bsig0(a44), maj(a44, a43, a42)));
        let w45 = add(add(ssig1(w43), w38), add(ssig0(w30), w29));
        let ta45 = add(
            add(e42, add(w45, splat(K[45]))),
            add(bsig1(e45), ch(e45, e44, e43)),
        );
        let e46 = add(a42, ta45);
        let a46 = add(ta45, add(bsig0(a45), maj(a45, a44, a43)));
        let w46 = add(add(ssig1(w44), w39), add(ssig0(w31), w30));
        let ta46 = add(
            add(e43, add(w46, splat(K[46]))),
            add(bsig1(e46), ch(e46, e45, e44)),
        );
        let e47 = add(a43, ta46);
        let a47 = add(ta46, add(bsig0(a46), maj(a46, a45, a44)));
        let w47 = add(add(ssig1(w45), w40), add(ssig0(w32), w31));
        let ta47 = add(
            add(e44, add(w47, splat(K[47]))),
            add(bsig1(e47), ch(e47, e46, e45)),
        );
        let e48 = add(a44, ta47);
        let a48 = add(ta47, add(bsig0(a47), maj(a47, a46, a45)));
        let w48 = add(add(ssig1(w46), w41), add(ssig0(w33), w32));
        let ta48 = add(
            add(e45, add(w48, splat(K[48]))),
            add(bsig1(e48), ch(e48, e47, e46)),
        );
        let e49 = add(a45, ta48);
        let a49 = add(ta48, add(bsig0(a48), maj(a48, a47, a46)));
        let w49 = add(add(ssig1(w47), w42), add(ssig0(w34), w33));
        let ta49 = add(
            add(e46, add(w49, splat(K[49]))),
            add(bsig1(e49), ch(e49, e48, e47)),
        );
        let e50 = add(a46, ta49);
        let a50 = add(ta49, add(bsig0(a49), maj(a49, a48, a47)));
        let w50 = add(add(ssig1(w48), w43), add(ssig0(w35), w34));
        let ta50 = add(
            add(e47, add(w50, splat(K[50]))),
            add(bsig1(e50), ch(e50, e49, e48)),
        );
        let e51 = add(a47, ta50);
        let a51 = add(ta50, add(bsig0(a50), maj(a50, a49, a48)));
        let w51 = add(add(ssig1(w49), w44), add(ssig0(w36), w35));
        let ta51 = add(
            add(e48, add(w51, splat(K[51]))),
            add(bsig1(e51), ch(e51, e50, e49)),
        );
        let e52 = add(a48, ta51);
        let a52 = add(ta51, add(bsig0(a51), maj(a51, a50, a49)));
        let w52 = add(add(ssig1(w50), w45), add(ssig0(w37), w36));
        let ta52 = add(
            add(e49, add(w52, splat(K[52]))),
            add(bsig1(e52), ch(e52, e51, e50)),
        );
        let e53 = add(a49, ta52);
        let a53 = add(ta52, add(bsig0(a52), maj(a52, a51, a50)));
        let w53 = add(add(ssig1(w51), w46), add(ssig0(w38), w37));
        let ta53 = add(
            add(e50, add(w53, splat(K[53]))),
            add(bsig1(e53), ch(e53, e52, e51)),
        );
        let e54 = add(a50, ta53);
        let a54 = add(ta53, add(bsig0(a53), maj(a53, a52, a51)));
        let w54 = add(add(ssig1(w52), w47), add(ssig0(w39), w38));
        let ta54 = add(
            add(e51, add(w54, splat(K[54]))),
            add(bsig1(e54), ch(e54, e53, e52)),
        );
        let e55 = add(a51, ta54);
        let a55 = add(ta54, add(bsig0(a54), maj(a54, a53, a52)));
        let w55 = add(add(ssig1(w53), w48), add(ssig0(w40), w39));
        let ta55 = add(
            add(e52, add(w55, splat(K[55]))),
            add(bsig1(e55), ch(e55, e54, e53)),
        );
        let e56 = add(a52, ta55);
        let a56 = add(ta55, add(bsig0(a55), maj(a55, a54, a53)));
        let w56 = add(add(ssig1(w54), w49), add(ssig0(w41), w40));
        let ta56 = add(
            add(e53, add(w56, splat(K[56]))),
            add(bsig1(e56), ch(e56, e55, e54)),
        );
        let e57 = add(a53, ta56);
        let a57 = add(ta56, add(bsig0(a56), maj(a56, a55, a54)));
        let w57 = add(add(ssig1(w55), w50), add(ssig0(w42), w41));
        let ta57 = add(
            add(e54, add(w57, splat(K[57]))),
            add(bsig1(e57), ch(e57, e56, e55)),
        );
        let e58 = add(a54, ta57);
        let a58 = add(ta57, add(bsig0(a57), maj(a57, a56, a55)));
        let w58 = add(add(ssig1(w56), w51), add(ssig0(w43), w42));
        let ta58 = add(
            add(e55, add(w58, splat(K[58]))),
            add(bsig1(e58), ch(e58, e57, e56)),
        );
        let e59 = add(a55, ta58);
        let a59 = add(ta58, add(bsig0(a58), maj(a58, a57, a56)));
        let w59 = add(add(ssig1(w57), w52), add(ssig0(w44), w43));
        let ta59 = add(
            add(e56, add(w59, splat(K[59]))),
            add(bsig1(e59), ch(e59, e58, e57)),
        );
        let e60 = add(a56, ta59);
        let a60 = add(ta59, add(bsig0(a59), maj(a59, a58, a57)));
        let w60 = add(add(ssig1(w58), w53), add(ssig0(w45), w44));
        let ta60 = add(
            add(e57, add(w60, splat(K[60]))),
            add(bsig1(e60), ch(e60, e59, e58)),
        );
        let e61 = add(a57, ta60);
        let a61 = add(ta60, add(bsig0(a60), maj(a60, a59, a58)));
        let w61 = add(add(ssig1(w59), w54), add(ssig0(w46), w45));
        let ta61 = add(
            add(e58, add(w61, splat(K[61]))),
            add(bsig1(e61), ch(e61, e60, e59)),
        );
        let e62 = add(a58, ta61);
        let a62 = add(ta61, add(bsig0(a61), maj(a61, a60, a59)));
        let w62 = add(add(ssig1(w60), w55), add(ssig0(w47), w46));
        let ta62 = add(
            add(e59, add(w62, splat(K[62]))),
            add(bsig1(e62), ch(e62, e61, e60)),
        );
        let e63 = add(a59, ta62);
        let a63 = add(ta62, add(bsig0(a62), maj(a62, a61, a60)));
        let w63 = add(add(ssig1(w61), w56), add(ssig0(w48), w47));
        let ta63 = add(
            add(e60, add(w63, splat(K[63]))),
            add(bsig1(e63), ch(e63, e62, e61)),
        );
        let e64 = add(a60, ta63);
        let a64 = add(ta63, add(bsig0(a63), maj(a63, a62, a61)));
        // Inner digest = outer message words x0..x7 (no byte swaps needed).
        let x0 = add(a64, splat(pre.mid[0]));
        let x1 = add(a63, splat(pre.mid[1]));
        let x2 = add(a62, splat(pre.mid[2]));
        let x3 = add(a61, splat(pre.mid[3]));
        let x4 = add(e64, splat(pre.mid[4]));
        let x5 = add(e63, splat(pre.mid[5]));
        let x6 = add(e62, splat(pre.mid[6]));
        let x7 = add(e61, splat(pre.mid[7]));
        // Outer hash from the IV; round 0 folded into constants.
        let oa1 = add(x0, splat(OUTER_A1));
        let oa0 = splat(IV[0]);
        let oam1 = splat(IV[1]);
        let oam2 = splat(IV[2]);
        let oe1 = add(x0, splat(OUTER_E1));
        let oe0 = splat(IV[4]);
        let oem1 = splat(IV[5]);
        let oem2 = splat(IV[6]);
        let toa1 = add(
            add(oem2, add(x1, splat(K[1]))),
            add(bsig1(oe1), ch(oe1, oe0, oem1)),
        );
        let oe2 = add(oam2, toa1);
        let oa2 = add(toa1, add(bsig0(oa1), maj(oa1, oa0, oam1)));
        let toa2 = add(
            add(oem1, add(x2, splat(K[2]))),
            add(bsig1(oe2), ch(oe2, oe1, oe0)),
        );
        let oe3 = add(oam1, toa2);
        let oa3 = add(toa2, add(bsig0(oa2), maj(oa2, oa1, oa0)));
        let toa3 = add(
            add(oe0, add(x3, splat(K[3]))),
            add(bsig1(oe3), ch(oe3, oe2, oe1)),
        );
        let oe4 = add(oa0, toa3);
        let oa4 = add(toa3, add(bsig0(oa3), maj(oa3, oa2, oa1)));
        let toa4 = add(
            add(oe1, add(x4, splat(K[4]))),
            add(bsig1(oe4), ch(oe4, oe3, oe2)),
        );
        let oe5 = add(oa1, toa4);
        let oa5 = add(toa4, add(bsig0(oa4), maj(oa4, oa3, oa2)));
        let toa5 = add(
            add(oe2, add(x5, splat(K[5]))),
            add(bsig1(oe5), ch(oe5, oe4, oe3)),
        );
        let oe6 = add(oa2, toa5);
        let oa6 = add(toa5, add(bsig0(oa5), maj(oa5, oa4, oa3)));
        let toa6 = add(
            add(oe3, add(x6, splat(K[6]))),
            add(bsig1(oe6), ch(oe6, oe5, oe4)),
        );
        let oe7 = add(oa3, toa6);
        let oa7 = add(toa6, add(bsig0(oa6), maj(oa6, oa5, oa4)));
        let toa7 = add(
            add(oe4, add(x7, splat(K[7]))),
            add(bsig1(oe7), ch(oe7, oe6, oe5)),
        );
        let oe8 = add(oa4, toa7);
        let oa8 = add(toa7, add(bsig0(oa7), maj(oa7, oa6, oa5)));
        let toa8 = add(
            add(oe5, splat(OUTER_KW[8])),
            add(bsig1(oe8), ch(oe8, oe7, oe6)),
        );
        let oe9 = add(oa5, toa8);
        let oa9 = add(toa8, add(bsig0(oa8), maj(oa8, oa7, oa6)));
        let toa9 = add(
            add(oe6, splat(OUTER_KW[9])),
            add(bsig1(oe9), ch(oe9, oe8, oe7)),
        );
        let oe10 = add(oa6, toa9);
        let oa10 = add(toa9, add(bsig0(oa9), maj(oa9, oa8, oa7)));
        let toa10 = add(
            add(oe7, splat(OUTER_KW[10])),
            add(bsig1(oe10), ch(oe10, oe9, oe8)),
        );
        let oe11 = add(oa7, toa10);
        let oa11 = add(toa10, add(bsig0(oa10), maj(oa10, oa9, oa8)));
        let toa11 = add(
            add(oe8, splat(OUTER_KW[11])),
            add(bsig1(oe11), ch(oe11, oe10, oe9)),
        );
        let oe12 = add(oa8, toa11);
        let oa12 = add(toa11, add(bsig0(oa11), maj(oa11, oa10, oa9)));
        let toa12 = add(
            add(oe9, splat(OUTER_KW[12])),
            add(bsig1(oe12), ch(oe12, oe11, oe10)),
        );
        let oe13 = add(oa9, toa12);
        let oa13 = add(toa12, add(bsig0(oa12), maj(oa12, oa11, oa10)));
        let toa13 = add(
            add(oe10, splat(OUTER_KW[13])),
            add(bsig1(oe13), ch(oe13, oe12, oe11)),
        );
        let oe14 = add(oa10, toa13);
        let oa14 = add(toa13, add(bsig0(oa13), maj(oa13, oa12, oa11)));
        let toa14 = add(
            add(oe11, splat(OUTER_KW[14])),
            add(bsig1(oe14), ch(oe14, oe13, oe12)),
        );
        let oe15 = add(oa11, toa14);
        let oa15 = add(toa14, add(bsig0(oa14), maj(oa14, oa13, oa12)));
        let toa15 = add(
            add(oe12, splat(OUTER_KW[15])),
            add(bsig1(oe15), ch(oe15, oe14, oe13)),
        );
        let oe16 = add(oa12, toa15);
        let oa16 = add(toa15, add(bsig0(oa15), maj(oa15, oa14, oa13)));
        let x16 = add(ssig0(x1), x0);
        let toa16 = add(
            add(oe13, add(x16, splat(K[16]))),
            add(bsig1(oe16), ch(oe16, oe15, oe14)),
        );
        let oe17 = add(oa13, toa16);
        let oa17 = add(toa16, add(bsig0(oa16), maj(oa16, oa15, oa14)));
        let x17 = add(add(ssig0(x2), x1), splat(OUTER_X17));
        let toa17 = add(
            add(oe14, add(x17, splat(K[17]))),
            add(bsig1(oe17), ch(oe17, oe16, oe15)),
        );
        let oe18 = add(oa14, toa17);
        let oa18 = add(toa17, add(bsig0(oa17), maj(oa17, oa16, oa15)));
        let x18 = add(add(ssig1(x16), ssig0(x3)), x2);
        let toa18 = add(
            add(oe15, add(x18, splat(K[18]))),
            add(bsig1(oe18), ch(oe18, oe17, oe16)),
        );
        let oe19 = add(oa15, toa18);
        let oa19 = add(toa18, add(bsig0(oa18), maj(oa18, oa17, oa16)));
        let x19 = add(add(ssig1(x17), ssig0(x4)), x3);
        let toa19 = add(
            add(oe16, add(x19, splat(K[19]))),
            add(bsig1(oe19), ch(oe19, oe18, oe17)),
        );
        let oe20 = add(oa16, toa19);
        let oa20 = add(toa19, add(bsig0(oa19), maj(oa19, oa18, oa17)));
        let x20 = add(add(ssig1(x18), ssig0(x5)), x4);
        let toa20 = add(
            add(oe17, add(x20, splat(K[20]))),
            add(bsig1(oe20), ch(oe20, oe19, oe18)),
        );
        let oe21 = add(oa17, toa20);
        let oa21 = add(toa20, add(bsig0(oa20), maj(oa20, oa19, oa18)));
        let x21 = add(add(ssig1(x19), ssig0(x6)), x5);
        let toa21 = add(
            add(oe18, add(x21, splat(K[21]))),
            add(bsig1(oe21), ch(oe21, oe20, oe19)),
        );
        let oe22 = add(oa18, toa21);
        let oa22 = add(toa21, add(bsig0(oa21), maj(oa21, oa20, oa19)));
        let x22 = add(add(ssig1(x20), ssig0(x7)), add(x6, splat(OUTER_X22)));
        let toa22 = add(
            add(oe19, add(x22, splat(K[22]))),
            add(bsig1(oe22), ch(oe22, oe21, oe20)),
        );
        let oe23 = add(oa19, toa22);
        let oa23 = add(toa22, add(bsig0(oa22), maj(oa22, oa21, oa20)));
        let x23 = add(add(ssig1(x21), x16), add(x7, splat(OUTER_X23)));
        let toa23 = add(
            add(oe20, add(x23, splat(K[23]))),
            add(bsig1(oe23), ch(oe23, oe22, oe21)),
        );
        let oe24 = add(oa20, toa23);
        let oa24 = add(toa23, add(bsig0(oa23), maj(oa23, oa22, oa21)));
        let x24 = add(add(ssig1(x22), x17), splat(OUTER_X24));
        let toa24 = add(
            add(oe21, add(x24, splat(K[24]))),
            add(bsig1(oe24), ch(oe24, oe23, oe22)),
        );
        let oe25 = add(oa21, toa24);
        let oa25 = add(toa24, add(bsig0(oa24), maj(oa24, oa23, oa22)));
        let x25 = add(ssig1(x23), x18);
        let toa25 = add(
            add(oe22, add(x25, splat(K[25]))),
            add(bsig1(oe25), ch(oe25, oe24, oe23)),
        );
        let oe26 = add(oa22, toa25);
        let oa26 = add(toa25, add(bsig0(oa25), maj(oa25, oa24, oa23)));
        let x26 = add(ssig1(x24), x19);
        let toa26 = add(
            add(oe23, add(x26, splat(K[26]))),
            add(bsig1(oe26), ch(oe26, oe25, oe24)),
        );
        let oe27 = add(oa23, toa26);
        let oa27 = add(toa26, add(bsig0(oa26), maj(oa26, oa25, oa24)));
        let x27 = add(ssig1(x25), x20);
        let toa27 = add(
            add(oe24, add(x27, splat(K[27]))),
            add(bsig1(oe27), ch(oe27, oe26, oe25)),
        );
        let oe28 = add(oa24, toa27);
        let oa28 = add(toa27, add(bsig0(oa27), maj(oa27, oa26, oa25)));
        let x28 = add(ssig1(x26), x21);
        let toa28 = add(
            add(oe25, add(x28, splat(K[28]))),
            add(bsig1(oe28), ch(oe28, oe27, oe26)),
        );
        let oe29 = add(oa25, toa28);
        let oa29 = add(toa28, add(bsig0(oa28), maj(oa28, oa27, oa26)));
        let x29 = add(ssig1(x27), x22);
        let toa29 = add(
            add(oe26, add(x29, splat(K[29]))),
            add(bsig1(oe29), ch(oe29, oe28, oe27)),
        );
        let oe30 = add(oa26, toa29);
        let oa30 = add(toa29, add(bsig0(oa29), maj(oa29, oa28, oa27)));
        let x30 = add(add(ssig1(x28), x23), splat(OUTER_X30));
        let toa30 = add(
            add(oe27, add(x30, splat(K[30]))),
            add(bsig1(oe30), ch(oe30, oe29, oe28)),
        );
        let oe31 = add(oa27, toa30);
        let oa31 = add(toa30, add(bsig0(oa30), maj(oa30, oa29, oa28)));
        let x31 = add(add(ssig1(x29), x24), add(ssig0(x16), splat(OUTER_X31)));
        let toa31 = add(
            add(oe28, add(x31, splat(K[31]))),
            add(bsig1(oe31), ch(oe31, oe30, oe29)),
        );
        let oe32 = add(oa28, toa31);
        let oa32 = add(toa31, add(bsig0(oa31), maj(oa31, oa30, oa29)));
        let x32 = add(add(ssig1(x30), x25), add(ssig0(x17), x16));
        let toa32 = add(
            add(oe29, add(x32, splat(K[32]))),
            add(bsig1(oe32), ch(oe32, oe31, oe30)),
        );
        let oe33 = add(oa29, toa32);
        let oa33 = add(toa32, add(bsig0(oa32), maj(oa32, oa31, oa30)));
        let x33 = add(add(ssig1(x31), x26), add(ssig0(x18), x17));
        let toa33 = add(
            add(oe30, add(x33, splat(K[33]))),
            add(bsig1(oe33), ch(oe33, oe32, oe31)),
        );
        let oe34 = add(oa30, toa33);
        let oa34 = add(toa33, add(bsig0(oa33), maj(oa33, oa32, oa31)));
        let x34 = add(add(ssig1(x32), x27), add(ssig0(x19), x18));
        let toa34 = add(
            add(oe31, add(x34, splat(K[34]))),
            add(bsig1(oe34), ch(oe34, oe33, oe32)),
        );
        let oe35 = add(oa31, toa34);
        let oa35 = add(toa34, add(bsig0(oa34), maj(oa34, oa33, oa32)));
        let x35 = add(add(ssig1(x33), x28), add(ssig0(x20), x19));
        let toa35 = add(
            add(oe32, add(x35, splat(K[35]))),
            add(bsig1(oe35), ch(oe35, oe34, oe33)),
        );
        let oe36 = add(oa32, toa35);
        let oa36 = add(toa35, add(bsig0(oa35), maj(oa35, oa34, oa33)));
        let x36 = add(add(ssig1(x34), x29), add(ssig0(x21), x20));
        let toa36 = add(
            add(oe33, add(x36, splat(K[36]))),
            add(bsig1(oe36), ch(oe36, oe35, oe34)),
        );
        let oe37 = add(oa33, toa36);
        let oa37 = add(toa36, add(bsig0(oa36), maj(oa36, oa35, oa34)));
        let x37 = add(add(ssig1(x35), x30), add(ssig0(x22), x21));
        let toa37 = add(
            add(oe34, add(x37, splat(K[37]))),
            add(bsig1(oe37), ch(oe37, oe36, oe35)),
        );
        let oe38 = add(oa34, toa37);
        let oa38 = add(toa37, add(bsig0(oa37), maj(oa37, oa36, oa35)));
        let x38 = add(add(ssig1(x36), x31), add(ssig0(x23), x22));
        let toa38 = add(
            add(oe35, add(x38, splat(K[38]))),
            add(bsig1(oe38), ch(oe38, oe37, oe36)),
        );
        let oe39 = add(oa35, toa38);
        let oa39 = add(toa38, add(bsig0(oa38), maj(oa38, oa37, oa36)));
        let x39 = add(add(ssig1(x37), x32), add(ssig0(x24), x23));
        let toa39 = add(
            add(oe36, add(x39, splat(K[39]))),
            add(bsig1(oe39), ch(oe39, oe38, oe37)),
        );
        let oe40 = add(oa36, toa39);
        let oa40 = add(toa39, add(bsig0(oa39), maj(oa39, oa38, oa37)));
        let x40 = add(add(ssig1(x38), x33), add(ssig0(x25), x24));
        let toa40 = add(
            add(oe37, add(x40, splat(K[40]))),
            add(bsig1(oe40), ch(oe40, oe39, oe38)),
        );
        let oe41 = add(oa37, toa40);
        let oa41 = add(toa40, add(bsig0(oa40), maj(oa40, oa39, oa38)));
        let x41 = add(add(ssig1(x39), x34), add(ssig0(x26), x25));
        let toa41 = add(
            add(oe38, add(x41, splat(K[41]))),
            add(bsig1(oe41), ch(oe41, oe40, oe39)),
        );
        let oe42 = add(oa38, toa41);
        let oa42 = add(toa41, add(bsig0(oa41), maj(oa41, oa40, oa39)));
        let x42 = add(add(ssig1(x40), x35), add(ssig0(x27), x26));
        let toa42 = add(
            add(oe39, add(x42, splat(K[42]))),
            add(bsig1(oe42), ch(oe42, oe41, oe40)),
        );
        let oe43 = add(oa39, toa42);
        let oa43 = add(toa42, add(bsig0(oa42), maj(oa42, oa41, oa40)));
        let x43 = add(add(ssig1(x41), x36), add(ssig0(x28), x27));
        let toa43 = add(
            add(oe40, add(x43, splat(K[43]))),
            add(bsig1(oe43), ch(oe43, oe42, oe41)),
        );
        let oe44 = add(oa40, toa43);
        let oa44 = add(toa43, add(bsig0(oa43), maj(oa43, oa42, oa41)));
        let x44 = add(add(ssig1(x42), x37), add(ssig0(x29), x28));
        let toa44 = add(
            add(oe41, add(x44, splat(K[44]))),
            add(bsig1(oe44), ch(oe44, oe43, oe42)),
        );
        let oe45 = add(oa41, toa44);
        let oa45 = add(toa44, add(bsig0(oa44), maj(oa44, oa43, oa42)));
        let x45 = add(add(ssig1(x43), x38), add(ssig0(x30), x29));
        let toa45 = add(
            add(oe42, add(x45, splat(K[45]))),
            add(bsig1(oe45), ch(oe45, oe44, oe43)),
        );
        let oe46 = add(oa42, toa45);
        let oa46 = add(toa45, add(bsig0(oa45), maj(oa45, oa44, oa43)));
        let x46 = add(add(ssig1(x44), x39), add(ssig0(x31), x30));
        let toa46 = add(
            add(oe43, add(x46, splat(K[46]))),
            add(bsig1(oe46), ch(oe46, oe45, oe44)),
        );
        let oe47 = add(oa43, toa46);
        let oa47 = add(toa46, add(bsig0(oa46), maj(oa46, oa45, oa44)));
        let x47 = add(add(ssig1(x45), x40), add(ssig0(x32), x31));
        let toa47 = add(
            add(oe44, add(x47, splat(K[47]))),
            add(bsig1(oe47), ch(oe47, oe46, oe45)),
        );
        let oe48 = add(oa44, toa47);
        let oa48 = add(toa47, add(bsig0(oa47), maj(oa47, oa46, oa45)));
        let x48 = add(add(ssig1(x46), x41), add(ssig0(x33), x32));
        let toa48 = add(
            add(oe45, add(x48, splat(K[48]))),
            add(bsig1(oe48), ch(oe48, oe47, oe46)),
        );
        let oe49 = add(oa45, toa48);
        let oa49 = add(toa48, add(bsig0(oa48), maj(oa48, oa47, oa46)));
        let x49 = add(add(ssig1(x47), x42), add(ssig0(x34), x33));
        let toa49 = add(
            add(oe46, add(x49, splat(K[49]))),
            add(bsig1(oe49), ch(oe49, oe48, oe47)),
        );
        let oe50 = add(oa46, toa49);
        let oa50 = add(toa49, add(bsig0(oa49), maj(oa49, oa48, oa47)));
        let x50 = add(add(ssig1(x48), x43), add(ssig0(x35), x34));
        let toa50 = add(
            add(oe47, add(x50, splat(K[50]))),
            add(bsig1(oe50), ch(oe50, oe49, oe48)),
        );
        let oe51 = add(oa47, toa50);
        let oa51 = add(toa50, add(bsig0(oa50), maj(oa50, oa49, oa48)));
        let x51 = add(add(ssig1(x49), x44), add(ssig0(x36), x35));
        let toa51 = add(
            add(oe48, add(x51, splat(K[51]))),
            add(bsig1(oe51), ch(oe51, oe50, oe49)),
        );
        let oe52 = add(oa48, toa51);
        let oa52 = add(toa51, add(bsig0(oa51), maj(oa51, oa50, oa49)));
        let x52 = add(add(ssig1(x50), x45), add(ssig0(x37), x36));
        let toa52 = add(
            add(oe49, add(x52, splat(K[52]))),
            add(bsig1(oe52), ch(oe52, oe51, oe50)),
        );
        let oe53 = add(oa49, toa52);
        let oa53 = add(toa52, add(bsig0(oa52), maj(oa52, oa51, oa50)));
        let x53 = add(add(ssig1(x51), x46), add(ssig0(x38), x37));
        let toa53 = add(
            add(oe50, add(x53, splat(K[53]))),
            add(bsig1(oe53), ch(oe53, oe52, oe51)),
        );
        let oe54 = add(oa50, toa53);
        let oa54 = add(toa53, add(bsig0(oa53), maj(oa53, oa52, oa51)));
        let x54 = add(add(ssig1(x52), x47), add(ssig0(x39), x38));
        let toa54 = add(
            add(oe51, add(x54, splat(K[54]))),
            add(bsig1(oe54), ch(oe54, oe53, oe52)),
        );
        let oe55 = add(oa51, toa54);
        let oa55 = add(toa54, add(bsig0(oa54), maj(oa54, oa53, oa52)));
        let x55 = add(add(ssig1(x53), x48), add(ssig0(x40), x39));
        let toa55 = add(
            add(oe52, add(x55, splat(K[55]))),
            add(bsig1(oe55), ch(oe55, oe54, oe53)),
        );
        let oe56 = add(oa52, toa55);
        let oa56 = add(toa55, add(bsig0(oa55), maj(oa55, oa54, oa53)));
        let x56 = add(add(ssig1(x54), x49), add(ssig0(x41), x40));
        let toa56 = add(
            add(oe53, add(x56, splat(K[56]))),
            add(bsig1(oe56), ch(oe56, oe55, oe54)),
        );
        let oe57 = add(oa53, toa56);
        let oa57 = add(toa56, add(bsig0(oa56), maj(oa56, oa55, oa54)));
        let x57 = add(add(ssig1(x55), x50), add(ssig0(x42), x41));
        let toa57 = add(
            add(oe54, add(x57, splat(K[57]))),
            add(bsig1(oe57), ch(oe57, oe56, oe55)),
        );
        let oe58 = add(oa54, toa57);
        let oa58 = add(toa57, add(bsig0(oa57), maj(oa57, oa56, oa55)));
        let x58 = add(add(ssig1(x56), x51), add(ssig0(x43), x42));
        let toa58 = add(
            add(oe55, add(x58, splat(K[58]))),
            add(bsig1(oe58), ch(oe58, oe57, oe56)),
        );
        let oe59 = add(oa55, toa58);
        let oa59 = add(toa58, add(bsig0(oa58), maj(oa58, oa57, oa56)));
        let x59 = add(add(ssig1(x57), x52), add(ssig0(x44), x43));
        let toa59 = add(
            add(oe56, add(x59, splat(K[59]))),
            add(bsig1(oe59), ch(oe59, oe58, oe57)),
        );
        let oe60 = add(oa56, toa59);
        let oa60 = add(toa59, add(bsig0(oa59), maj(oa59, oa58, oa57)));
        let x60 = add(add(ssig1(x58), x53), add(ssig0(x45), x44));
        let toa60 = add(
            add(oe57, add(x60, splat(K[60]))),
            add(bsig1(oe60), ch(oe60, oe59, oe58)),
        );
        let oe61 = add(oa57, toa60);
        let oa61 = add(toa60, add(bsig0(oa60), maj(oa60, oa59, oa58)));
        let x61 = add(add(ssig1(x59), x54), add(ssig0(x46), x45));
        let toa61 = add(
            add(oe58, add(x61, splat(K[61]))),
            add(bsig1(oe61), ch(oe61, oe60, oe59)),
        );
        let oe62 = add(oa58, toa61);
        let oa62 = add(toa61, add(bsig0(oa61), maj(oa61, oa60, oa59)));
        let x62 = add(add(ssig1(x60), x55), add(ssig0(x47), x46));
        let toa62 = add(
            add(oe59, add(x62, splat(K[62]))),
            add(bsig1(oe62), ch(oe62, oe61, oe60)),
        );
        let oe63 = add(oa59, toa62);
        let oa63 = add(toa62, add(bsig0(oa62), maj(oa62, oa61, oa60)));
        let x63 = add(add(ssig1(x61), x56), add(ssig0(x48), x47));
        let toa63 = add(
            add(oe60, add(x63, splat(K[63]))),
            add(bsig1(oe63), ch(oe63, oe62, oe61)),
        );
        let oa64 = add(toa63, add(bsig0(oa63), maj(oa63, oa62, oa61)));
        add(oa64, splat(IV[0]))
    }};
}
pub(crate) use sha256d_h0;
