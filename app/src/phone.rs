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

#[cfg(test)]
mod tests {
    use super::*;

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
