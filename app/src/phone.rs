//! Kenyan phone numbers, one rule for the server and the browser: accepted as 07XXXXXXXX,
//! 01XXXXXXXX, +2547…, +2541…, 2547… or 2541… (spaces and dashes ignored), stored as
//! 2547XXXXXXXX / 2541XXXXXXXX, the form M-Pesa and SMS gateways use.

use crate::error::AppError;

pub fn normalise_phone(field: &str, input: &str) -> Result<String, AppError> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::invalid(
            field,
            "use digits only, like 0712 345 678",
        ));
    }
    let national = if let Some(rest) = digits.strip_prefix("254") {
        rest
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest
    } else {
        return Err(AppError::invalid(
            field,
            "must start with 07, 01, +254 or 254",
        ));
    };
    if national.len() != 9 || !(national.starts_with('7') || national.starts_with('1')) {
        return Err(AppError::invalid(
            field,
            "must be a Kenyan mobile number, like 0712 345 678 or 0110 123 456",
        ));
    }
    Ok(format!("254{national}"))
}

/// A stored number as Kenyans write it: 254712345678 → 0712 345 678. Anything else unchanged.
pub fn display_phone(stored: &str) -> String {
    match stored.strip_prefix("254") {
        Some(rest) if rest.len() == 9 && rest.chars().all(|c| c.is_ascii_digit()) => {
            format!("0{} {} {}", &rest[..3], &rest[3..6], &rest[6..])
        }
        _ => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_numbers_display_in_the_local_form() {
        assert_eq!(display_phone("254712345678"), "0712 345 678");
        assert_eq!(display_phone("254110123456"), "0110 123 456");
        assert_eq!(display_phone("12345"), "12345");
    }

    #[test]
    fn every_accepted_form_normalises_to_254() {
        for input in [
            "0712345678",
            "0712 345 678",
            "+254712345678",
            "254712345678",
            "+254 712-345-678",
        ] {
            assert_eq!(
                normalise_phone("phone", input).unwrap(),
                "254712345678",
                "{input}"
            );
        }
        assert_eq!(
            normalise_phone("phone", "0110123456").unwrap(),
            "254110123456"
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_field_named() {
        for input in [
            "",
            "12345",
            "0812345678",
            "07123456789",
            "071234567",
            "+1 415 555 0100",
            "07l2345678",
        ] {
            match normalise_phone("phone", input) {
                Err(AppError::Invalid { field, .. }) => assert_eq!(field, "phone", "{input}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A Kenyan mobile number's 9 national digits: 7XXXXXXXX or 1XXXXXXXX.
    fn national() -> impl Strategy<Value = String> {
        (prop_oneof![Just('7'), Just('1')], "[0-9]{8}")
            .prop_map(|(first, rest)| format!("{first}{rest}"))
    }

    proptest! {
        #[test]
        fn every_written_form_of_a_number_normalises_alike(n in national(), spaced in any::<bool>()) {
            let expected = format!("254{n}");
            let local = if spaced { format!("0{} {} {}", &n[..3], &n[3..6], &n[6..]) } else { format!("0{n}") };
            for written in [local, format!("+254{n}"), format!("254{n}"), format!("+254 {n}")] {
                prop_assert_eq!(normalise_phone("phone", &written).unwrap(), expected.clone());
            }
        }

        #[test]
        fn normalising_is_idempotent(n in national()) {
            let once = normalise_phone("phone", &format!("0{n}")).unwrap();
            prop_assert_eq!(normalise_phone("phone", &once).unwrap(), once);
        }

        #[test]
        fn any_input_is_either_refused_or_a_valid_stored_number(input in "\\PC{0,20}") {
            match normalise_phone("phone", &input) {
                Ok(stored) => {
                    prop_assert_eq!(stored.len(), 12);
                    prop_assert!(stored.starts_with("2547") || stored.starts_with("2541"));
                    prop_assert!(stored.chars().all(|c| c.is_ascii_digit()));
                }
                Err(AppError::Invalid { field, .. }) => prop_assert_eq!(field, "phone"),
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}
