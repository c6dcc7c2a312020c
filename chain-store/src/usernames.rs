//! User names people can tell apart: names are public (the network page lists them), so two
//! accounts must not look alike.
//!
//! A name is taken in its NFKC form (full-width `Ａ` is `A`, ligatures are letters) and must be
//! 1 to [`MAX_USERNAME_CHARS`] characters, with no spaces at its ends, made of characters that
//! Unicode's security profile allows in identifiers (UTS #39: no format characters such as a
//! zero-width space or a right-to-left override, no controls) plus space, `-`, `_` and `.`, all
//! of one script (a Latin name with one Cyrillic `а` is refused; digits and punctuation go with
//! any script).
//!
//! Uniqueness is on a *key*: the name case-folded, stripped of combining marks, then reduced to
//! its confusable skeleton (UTS #39), so that `ALİCE`, `alice`, a full-width `Ａlice` and an
//! all-Cyrillic lookalike are one account. Logins look names up by the same key. Case is folded
//! before the skeleton (after it, `ALICE` and `alice` would differ: the skeleton takes a capital
//! `I` for an `l`), so to catch a capital `I` standing for an `l` (`aIice`) the key writes `i`
//! and `l` alike: `bill` and `biii` are then one name too, a small price.

use crate::users::UserError;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_security::{GeneralSecurityProfile, MixedScript, skeleton};

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;

/// Characters allowed beside those of identifiers.
const PUNCTUATION: &[char] = &[' ', '-', '_', '.'];

/// The name as it is stored and shown (NFKC), if it is acceptable.
///
/// # Errors
///
/// [`UserError::BadUsername`] for an empty or long name, spaces at its ends, a character that
/// is not allowed, or a mix of scripts.
pub fn normalise(name: &str) -> Result<String, UserError> {
    let name: String = name.nfkc().collect();
    let chars = name.chars().count();
    let allowed = name
        .chars()
        .all(|c| c.identifier_allowed() || PUNCTUATION.contains(&c));
    if chars == 0
        || chars > MAX_USERNAME_CHARS
        || name.trim() != name
        || !allowed
        || !name.as_str().is_single_script()
    {
        return Err(UserError::BadUsername);
    }
    Ok(name)
}

/// The key two names share when people could take one for the other.
pub fn key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    let unmarked: String = folded.nfd().filter(|c| !is_combining_mark(*c)).collect();
    let skeleton: String = skeleton(&unmarked).collect();
    skeleton
        .to_lowercase()
        .chars()
        .map(|c| if c == 'i' { 'l' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookalikes_share_a_key() {
        let alice = key("alice");
        for lookalike in [
            "ALICE",
            "ALİCE",                               // Latin capital I with a dot
            "\u{430}lice",                         // Cyrillic a
            "\u{ff21}lice",                        // full-width A
            "\u{430}\u{4cf}\u{456}\u{441}\u{435}", // all Cyrillic
            "aIice",                               // a capital I for the l
            "a1ice",                               // a digit one for the l
        ] {
            assert_eq!(key(lookalike), alice, "{lookalike:?}");
        }
        assert_ne!(key("bob"), alice);
    }

    #[test]
    fn invisible_controlling_and_mixed_names_are_refused() {
        for bad in [
            "alice\u{200b}", // zero-width space
            "\u{202e}ecila", // right-to-left override
            "ali\u{7}ce",    // control
            "\u{430}lice",   // Cyrillic a among Latin letters
            " alice",
            "",
            &"a".repeat(MAX_USERNAME_CHARS + 1),
        ] {
            assert!(normalise(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalise("\u{ff21}lice").unwrap(), "Alice");
        assert_eq!(normalise("Jean-Luc O.").unwrap(), "Jean-Luc O.");
        assert_eq!(normalise("Дмитрий").unwrap(), "Дмитрий");
        assert_eq!(normalise("bob_2").unwrap(), "bob_2");
    }
}
