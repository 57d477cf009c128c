//! The RouterOS API's wire format (the binary protocol of RouterOS v6 on TCP 8728/8729, still
//! served by v7): sentences of length-prefixed words, each sentence ended by an empty word.
//!
//! Our own codec: the crates that implement this protocol are GPL or AGPL licensed, which this
//! project cannot use, and the format is small. A word's length is sent in 1 to 5 bytes, the
//! high bits of the first byte saying how many:
//!
//! | length            | bytes | first byte |
//! |-------------------|-------|------------|
//! | < 0x80            | 1     | `0xxxxxxx` |
//! | < 0x4000          | 2     | `10xxxxxx` |
//! | < 0x20_0000       | 3     | `110xxxxx` |
//! | < 0x1000_0000     | 4     | `1110xxxx` |
//! | up to `u32::MAX`  | 5     | `11110000` |
//!
//! The decoder works on whatever bytes have arrived (it says when it needs more) and refuses a
//! declared length above its limit before allocating anything, so a hostile or broken peer
//! cannot make it allocate gigabytes.

use std::fmt;

/// What the decoder accepts. RouterOS's own words are short; a listing of thousands of hotspot
/// users is many sentences, not long ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest word, in bytes.
    pub max_word: usize,
    /// The most words in one sentence.
    pub max_words: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_word: 1 << 20,
            max_words: 4_096,
        }
    }
}

/// Why bytes from the router are not a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A first byte no length encoding starts with (`0xF1` to `0xFF` are reserved control
    /// bytes).
    #[error("reserved length byte {0:#04x}")]
    ReservedByte(u8),
    #[error("a word of {length} bytes is longer than the {limit} allowed")]
    WordTooLong { length: u64, limit: usize },
    #[error("a sentence of more than {limit} words")]
    TooManyWords { limit: usize },
    #[error("a word that is not UTF-8")]
    NotUtf8,
    #[error("a word longer than 4 GiB cannot be sent")]
    Unencodable,
}

/// Appends the length prefix for a word of `length` bytes.
pub fn encode_length(length: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let n = u32::try_from(length).map_err(|_| CodecError::Unencodable)?;
    match n {
        0..=0x7F => out.push(n as u8),
        0x80..=0x3FFF => out.extend_from_slice(&((n | 0x8000) as u16).to_be_bytes()),
        0x4000..=0x1F_FFFF => out.extend_from_slice(&(n | 0xC0_0000).to_be_bytes()[1..]),
        0x20_0000..=0x0FFF_FFFF => out.extend_from_slice(&(n | 0xE000_0000).to_be_bytes()),
        _ => {
            out.push(0xF0);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    Ok(())
}

/// Reads a length prefix from the start of `bytes`: `Ok(None)` when more bytes are needed,
/// else the length and how many bytes the prefix took.
pub fn decode_length(bytes: &[u8]) -> Result<Option<(u64, usize)>, CodecError> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    let (size, mask) = match first {
        0x00..=0x7F => (1, 0x7F),
        0x80..=0xBF => (2, 0x3F),
        0xC0..=0xDF => (3, 0x1F),
        0xE0..=0xEF => (4, 0x0F),
        0xF0 => (5, 0x00),
        reserved => return Err(CodecError::ReservedByte(reserved)),
    };
    let Some(prefix) = bytes.get(..size) else {
        return Ok(None);
    };
    let mut length = u64::from(first & mask);
    for byte in &prefix[1..] {
        length = (length << 8) | u64::from(*byte);
    }
    Ok(Some((length, size)))
}

/// Appends one sentence: each word with its length, then the empty word.
pub fn encode_sentence<S: AsRef<str>>(words: &[S], out: &mut Vec<u8>) -> Result<(), CodecError> {
    for word in words {
        let word = word.as_ref().as_bytes();
        encode_length(word.len(), out)?;
        out.extend_from_slice(word);
    }
    out.push(0);
    Ok(())
}

/// Reads one sentence from the start of `bytes`: `Ok(None)` when it has not all arrived yet,
/// else its words and how many bytes it took (the caller drops those and reads on).
pub fn decode_sentence(
    bytes: &[u8],
    limits: Limits,
) -> Result<Option<(Vec<String>, usize)>, CodecError> {
    let mut words = Vec::new();
    let mut at = 0;
    loop {
        let Some((length, prefix)) = decode_length(&bytes[at..])? else {
            return Ok(None);
        };
        if length > limits.max_word as u64 {
            return Err(CodecError::WordTooLong {
                length,
                limit: limits.max_word,
            });
        }
        // Bounded by `max_word` just above, so it fits in usize.
        let length = length as usize;
        let start = at + prefix;
        if length == 0 {
            return Ok(Some((words, start)));
        }
        let Some(word) = bytes.get(start..start + length) else {
            return Ok(None);
        };
        if words.len() == limits.max_words {
            return Err(CodecError::TooManyWords {
                limit: limits.max_words,
            });
        }
        words.push(String::from_utf8(word.to_vec()).map_err(|_| CodecError::NotUtf8)?);
        at = start + length;
    }
}

/// The kind of a reply sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// One item of data (`!re`).
    Re,
    /// The command finished (`!done`).
    Done,
    /// The command failed (`!trap`); `message` says why.
    Trap,
    /// The connection is closing (`!fatal`).
    Fatal,
    /// A command with nothing to return (`!empty`, RouterOS 7.18 and later).
    Empty,
}

/// A reply from the router: its kind, its `=name=value` attributes in order, and the `.tag` of
/// the command it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: ReplyKind,
    pub attributes: Vec<(String, String)>,
    pub tag: Option<String>,
    /// `!fatal` carries its reason as a bare word.
    pub text: Option<String>,
}

impl Reply {
    /// Reads a decoded sentence as a reply.
    pub fn parse(words: &[String]) -> Result<Self, ReplyError> {
        let (first, rest) = words.split_first().ok_or(ReplyError::Empty)?;
        let kind = match first.as_str() {
            "!re" => ReplyKind::Re,
            "!done" => ReplyKind::Done,
            "!trap" => ReplyKind::Trap,
            "!fatal" => ReplyKind::Fatal,
            "!empty" => ReplyKind::Empty,
            other => return Err(ReplyError::UnknownKind(other.chars().take(40).collect())),
        };
        let mut reply = Reply {
            kind,
            attributes: Vec::new(),
            tag: None,
            text: None,
        };
        for word in rest {
            if let Some(tag) = word.strip_prefix(".tag=") {
                reply.tag = Some(tag.to_string());
            } else if let Some(attribute) = word.strip_prefix('=') {
                // The value may itself contain `=`: the name ends at the first one.
                let (name, value) = attribute.split_once('=').unwrap_or((attribute, ""));
                reply.attributes.push((name.to_string(), value.to_string()));
            } else if kind == ReplyKind::Fatal {
                reply.text = Some(word.clone());
            }
        }
        Ok(reply)
    }

    /// The first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// What a `!trap` or `!fatal` says went wrong.
    pub fn message(&self) -> Option<&str> {
        self.get("message").or(self.text.as_deref())
    }
}

/// A sentence that is not a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("an empty sentence")]
    Empty,
    #[error("an unknown reply {0:?}")]
    UnknownKind(String),
}

/// A command to send: a path (`/ppp/secret/add`), `=name=value` attributes and an optional
/// `.tag` that the replies carry back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    words: Vec<String>,
}

impl Command {
    pub fn new(path: &str) -> Self {
        Self {
            words: vec![path.to_string()],
        }
    }

    pub fn attr(mut self, name: &str, value: &str) -> Self {
        self.words.push(format!("={name}={value}"));
        self
    }

    /// A query word (`?name=value`) for `print`.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.words.push(format!("?{name}={value}"));
        self
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.words.push(format!(".tag={tag}"));
        self
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The command as bytes on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        encode_sentence(&self.words, &mut out)?;
        Ok(out)
    }
}

impl fmt::Display for Command {
    /// The command as a log line, with any password attribute hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<&str> = self
            .words
            .iter()
            .map(|w| {
                if w.starts_with("=password=") {
                    "=password=…"
                } else {
                    w.as_str()
                }
            })
            .collect();
        f.write_str(&shown.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every boundary the issue names, and one either side of each.
    const BOUNDARIES: [u64; 8] = [
        0x7F,
        0x80,
        0x3FFF,
        0x4000,
        0x1F_FFFF,
        0x20_0000,
        0x0FFF_FFFF,
        0x1000_0000,
    ];

    #[test]
    fn lengths_round_trip_at_every_boundary_in_the_fewest_bytes() {
        for boundary in BOUNDARIES {
            for length in [boundary - 1, boundary, boundary + 1] {
                let mut out = Vec::new();
                encode_length(length as usize, &mut out).unwrap();
                let expected_size = match length {
                    0..=0x7F => 1,
                    0x80..=0x3FFF => 2,
                    0x4000..=0x1F_FFFF => 3,
                    0x20_0000..=0x0FFF_FFFF => 4,
                    _ => 5,
                };
                assert_eq!(out.len(), expected_size, "{length:#x}");
                assert_eq!(decode_length(&out).unwrap(), Some((length, expected_size)));
                // Any shorter prefix asks for more bytes rather than guessing.
                for cut in 0..out.len() {
                    assert_eq!(decode_length(&out[..cut]).unwrap(), None, "{length:#x}");
                }
            }
        }
        let mut out = Vec::new();
        encode_length(u32::MAX as usize, &mut out).unwrap();
        assert_eq!(out, [0xF0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(decode_length(&out).unwrap(), Some((u64::from(u32::MAX), 5)));
    }

    #[test]
    fn known_encodings_match_the_protocol_documentation() {
        let encode = |n: usize| {
            let mut out = Vec::new();
            encode_length(n, &mut out).unwrap();
            out
        };
        assert_eq!(encode(0), [0x00]);
        assert_eq!(encode(0x7F), [0x7F]);
        assert_eq!(encode(0x80), [0x80, 0x80]);
        assert_eq!(encode(0x3FFF), [0xBF, 0xFF]);
        assert_eq!(encode(0x4000), [0xC0, 0x40, 0x00]);
        assert_eq!(encode(0x20_0000), [0xE0, 0x20, 0x00, 0x00]);
        assert_eq!(encode(0x1000_0000), [0xF0, 0x10, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn words_round_trip_at_the_boundaries_a_sentence_can_hold() {
        let limits = Limits {
            max_word: 0x20_0001,
            max_words: 8,
        };
        for length in [1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1F_FFFF, 0x20_0000] {
            let word = "a".repeat(length);
            let mut out = Vec::new();
            encode_sentence(&[word.as_str(), "=x=1"], &mut out).unwrap();
            let (words, used) = decode_sentence(&out, limits).unwrap().unwrap();
            assert_eq!(used, out.len());
            assert_eq!(words.len(), 2);
            assert_eq!(words[0].len(), length);
            // Cut anywhere before the end, it waits for the rest.
            for cut in [0, 1, out.len() / 2, out.len() - 1] {
                assert_eq!(decode_sentence(&out[..cut], limits).unwrap(), None);
            }
        }
    }

    #[test]
    fn hostile_input_is_refused_before_anything_is_allocated() {
        // A 4 GiB word announced in five bytes.
        let huge = [0xF0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            decode_sentence(&huge, Limits::default()),
            Err(CodecError::WordTooLong {
                length: u64::from(u32::MAX),
                limit: 1 << 20
            })
        );
        assert_eq!(
            decode_sentence(&[0xF8], Limits::default()),
            Err(CodecError::ReservedByte(0xF8))
        );
        assert_eq!(
            decode_sentence(&[0x02, 0xC3, 0x28, 0x00], Limits::default()),
            Err(CodecError::NotUtf8)
        );
        let mut many = Vec::new();
        encode_sentence(&["w"; 5], &mut many).unwrap();
        let few = Limits {
            max_word: 10,
            max_words: 4,
        };
        assert_eq!(
            decode_sentence(&many, few),
            Err(CodecError::TooManyWords { limit: 4 })
        );
    }

    #[test]
    fn replies_are_read_with_their_attributes_tag_and_message() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let re = Reply::parse(&words(&[
            "!re",
            "=.id=*1",
            "=name=wanjiru",
            "=comment=a=b",
            ".tag=7",
        ]))
        .unwrap();
        assert_eq!(re.kind, ReplyKind::Re);
        assert_eq!(re.get(".id"), Some("*1"));
        assert_eq!(re.get("comment"), Some("a=b"));
        assert_eq!(re.tag.as_deref(), Some("7"));
        let trap = Reply::parse(&words(&[
            "!trap",
            "=message=failure: secret with the same name already exists",
        ]))
        .unwrap();
        assert_eq!(trap.kind, ReplyKind::Trap);
        assert_eq!(
            trap.message(),
            Some("failure: secret with the same name already exists")
        );
        let fatal = Reply::parse(&words(&["!fatal", "not logged in"])).unwrap();
        assert_eq!(fatal.message(), Some("not logged in"));
        assert_eq!(Reply::parse(&[]), Err(ReplyError::Empty));
        assert!(matches!(
            Reply::parse(&words(&["!weird"])),
            Err(ReplyError::UnknownKind(_))
        ));
    }

    #[test]
    fn a_command_encodes_its_words_and_hides_passwords_in_logs() {
        let command = Command::new("/ppp/secret/add")
            .attr("name", "wanjiru")
            .attr("password", "s3cret")
            .tag("12");
        let bytes = command.encode().unwrap();
        let (words, _) = decode_sentence(&bytes, Limits::default()).unwrap().unwrap();
        assert_eq!(
            words,
            [
                "/ppp/secret/add",
                "=name=wanjiru",
                "=password=s3cret",
                ".tag=12"
            ]
        );
        let shown = command.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("=name=wanjiru"));
    }

    proptest! {
        #[test]
        fn any_sentences_round_trip_back_to_back(
            sentences in proptest::collection::vec(
                proptest::collection::vec("[^\\u{0}]{1,300}", 0..8), 1..5)
        ) {
            let mut out = Vec::new();
            for sentence in &sentences {
                encode_sentence(sentence, &mut out).unwrap();
            }
            let mut at = 0;
            for sentence in &sentences {
                let (words, used) = decode_sentence(&out[at..], Limits::default()).unwrap().unwrap();
                prop_assert_eq!(&words, sentence);
                at += used;
            }
            prop_assert_eq!(at, out.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_sentence(&bytes, Limits::default());
            let _ = decode_length(&bytes);
        }
    }
}
