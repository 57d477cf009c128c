//! Any bytes from a router: the sentence decoder never panics, never claims more bytes than it
//! was given, and what it reads encodes back to the same words.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../app/src/network/routeros_api.rs"]
#[allow(dead_code)]
mod routeros_api;

fuzz_target!(|data: &[u8]| {
    let _ = routeros_api::decode_length(data);
    if let Ok(Some((words, used))) = routeros_api::decode_sentence(data, routeros_api::Limits::default()) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        routeros_api::encode_sentence(&words, &mut out).expect("decoded words encode");
        let (again, _) = routeros_api::decode_sentence(&out, routeros_api::Limits::default())
            .expect("encoded words decode")
            .expect("a whole sentence");
        assert_eq!(again, words);
        if let Ok(reply) = routeros_api::Reply::parse(&words) {
            let _ = reply.message();
        }
    }
});
