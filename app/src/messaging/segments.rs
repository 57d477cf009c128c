//! How many SMS a text is billed as: the same count on the server (what is sent and costed) and
//! in the browser (the live preview while an operator writes a template or a bulk message).
//!
//! A text made only of the GSM 03.38 alphabet travels as 7-bit characters: 160 in one message,
//! 153 per part once it is split (the rest of each part carries the join header). Characters of
//! the alphabet's extension table (`{ } [ ] ~ \ | ^ €`) take two of those places. One character
//! outside the alphabet (a curly quote, an emoji, a non-Latin letter) turns the whole text into
//! UCS-2: 70 UTF-16 units in one message, 67 per part. A two-place character is never split
//! between parts, nor is an emoji's surrogate pair, so a part may carry one place less.

use serde::{Deserialize, Serialize};

/// GSM 03.38's basic characters, each one place.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table's characters, two places each (an escape, then the character).
const EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How a text is encoded for SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    /// The GSM 7-bit alphabet: 160 places in one message, 153 per part.
    Gsm7,
    /// UTF-16: 70 units in one message, 67 per part.
    Ucs2,
}

impl Encoding {
    /// Places in a message that is not split.
    pub fn single(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Places in each part of a split message.
    pub fn per_part(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// What a text costs in SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub encoding: Encoding,
    /// Places used: septets for GSM-7, UTF-16 units for UCS-2.
    pub places: usize,
    /// Messages billed (0 for an empty text).
    pub segments: usize,
    /// Places left in the last message before another is needed.
    pub left: usize,
}

/// Places a character takes in GSM-7, or `None` when it is not in the alphabet.
fn gsm_places(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text fits the GSM 7-bit alphabet.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_places(c).is_some())
}

/// The characters that make a text Unicode (each once, in order), to show the writer why it
/// costs more.
pub fn unicode_chars(text: &str) -> Vec<char> {
    let mut found: Vec<char> = Vec::new();
    for c in text.chars() {
        if gsm_places(c).is_none() && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

/// Counts `text` as an SMS gateway bills it.
pub fn count(text: &str) -> Count {
    let (encoding, widths): (Encoding, Vec<usize>) = if is_gsm7(text) {
        (
            Encoding::Gsm7,
            text.chars().map(|c| gsm_places(c).unwrap_or(1)).collect(),
        )
    } else {
        (Encoding::Ucs2, text.chars().map(char::len_utf16).collect())
    };
    let places: usize = widths.iter().sum();
    if places == 0 {
        return Count {
            encoding,
            places,
            segments: 0,
            left: encoding.single(),
        };
    }
    if places <= encoding.single() {
        return Count {
            encoding,
            places,
            segments: 1,
            left: encoding.single() - places,
        };
    }
    // Split: fill each part, moving a character that does not fit whole to the next.
    let size = encoding.per_part();
    let (mut segments, mut used) = (1, 0);
    for width in widths {
        if used + width > size {
            segments += 1;
            used = 0;
        }
        used += width;
    }
    Count {
        encoding,
        places,
        segments,
        left: size - used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_up_to_160_then_153_a_part() {
        assert_eq!(count("").segments, 0);
        let one = count(&"a".repeat(160));
        assert_eq!(
            (one.encoding, one.segments, one.left),
            (Encoding::Gsm7, 1, 0)
        );
        assert_eq!(count(&"a".repeat(161)).segments, 2);
        assert_eq!(count(&"a".repeat(306)).segments, 2);
        assert_eq!(count(&"a".repeat(307)).segments, 3);
        assert_eq!(count(&"a".repeat(161)).left, 153 * 2 - 161);
    }

    #[test]
    fn swahili_and_kenyan_shillings_stay_gsm7() {
        let text = "Habari Wanjiru, tumepokea KES 1,500.00 (risiti QK7Y2M9). Asante! Salio: 0.";
        assert!(is_gsm7(text));
        assert_eq!(count(text).encoding, Encoding::Gsm7);
        // Accented letters of the alphabet are one place; à and é are in it, á is not.
        assert!(is_gsm7("café à"));
        assert!(!is_gsm7("á"));
    }

    #[test]
    fn extension_characters_take_two_places_and_are_not_split() {
        assert_eq!(count("€5").places, 3);
        assert_eq!(count("{name}").places, 8);
        assert_eq!(count(&"a".repeat(159)).segments, 1);
        assert_eq!(count(&format!("{}€", "a".repeat(159))).segments, 2);
        // 152 places then a two-place character: it moves whole to the second part.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let counted = count(&text);
        assert_eq!((counted.places, counted.segments), (164, 2));
        assert_eq!(counted.left, 153 - 12);
    }

    #[test]
    fn one_unicode_character_makes_the_whole_text_ucs2() {
        let text = format!("{}’", "a".repeat(69));
        let counted = count(&text);
        assert_eq!(
            (counted.encoding, counted.places, counted.segments),
            (Encoding::Ucs2, 70, 1)
        );
        assert_eq!(count(&format!("{}’", "a".repeat(70))).segments, 2);
        assert_eq!(count(&"ж".repeat(134)).segments, 2);
        assert_eq!(count(&"ж".repeat(135)).segments, 3);
        assert_eq!(unicode_chars("Asante 🙏 ’’ ok"), vec!['🙏', '’']);
        assert!(unicode_chars("plain").is_empty());
    }

    #[test]
    fn an_emoji_is_two_units_and_never_split() {
        assert_eq!(count("🙏").places, 2);
        // 66 units, then a surrogate pair that does not fit the first part's 67.
        let text = format!("{}🙏{}", "ж".repeat(66), "ж".repeat(3));
        let counted = count(&text);
        assert_eq!((counted.places, counted.segments), (71, 2));
        assert_eq!(counted.left, 67 - 5);
    }
}
