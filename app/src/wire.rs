//! How the public pages' server functions answer: JSON, decoded from text.
//!
//! server_fn's own `Json` decodes an answer from bytes (`serde_json::from_slice`), while a
//! resource hydrating from the page decodes the same type from text (`serde_json::from_str`):
//! two copies of every type's decoder in the browser bundle, since serde_json's decoder is
//! generic over its reader. Answering with [`Json`] (and encoding [`crate::error::AppError`]
//! with [`TextJson`]) leaves one copy (measured on the portal bundle: 59 KB less raw wasm, 4 KB
//! less brotli).

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::{Serialize, de::DeserializeOwned};

/// JSON, decoded from UTF-8 text (see the module's comment).
pub struct TextJson;

impl ContentType for TextJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for TextJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for TextJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for TextJson {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        // Invalid UTF-8 is reported by serde_json as any other malformed answer would be.
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| <serde_json::Error as serde::de::Error>::custom("answer is not UTF-8"))?;
        serde_json::from_str(text)
    }
}

/// A server function's answer as [`TextJson`] in a `POST` response: `#[server(output = Json)]`.
pub type Json = Post<TextJson>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_text() {
        let bytes = <TextJson as Encodes<Vec<String>>>::encode(&vec!["Kasarani".into()]).unwrap();
        let back: Vec<String> = <TextJson as Decodes<Vec<String>>>::decode(bytes).unwrap();
        assert_eq!(back, vec!["Kasarani".to_string()]);
        let bad = <TextJson as Decodes<Vec<String>>>::decode(Bytes::from_static(b"[\"\xff\"]"));
        assert!(bad.unwrap_err().to_string().contains("UTF-8"));
    }
}
