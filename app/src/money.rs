//! Money: integer minor units (cents) with a currency, never floats. KES amounts are typed as
//! shillings with up to two decimals; M-Pesa works in whole shillings (see payments).

use crate::error::AppError;

/// Parses an amount typed in shillings ("1500", "1,500", "1500.5", "KES 1,500.50") into cents.
/// Rejects negatives, more than two decimals, and amounts over 100 million.
pub fn parse_kes(field: &str, input: &str) -> Result<i64, AppError> {
    let cleaned: String = input
        .trim()
        .trim_start_matches("KES")
        .trim_start_matches("Ksh")
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ')
        .collect();
    let invalid = || {
        AppError::invalid(
            field,
            "must be an amount in shillings, like 1500 or 1,500.50",
        )
    };
    if cleaned.is_empty() {
        return Err(invalid());
    }
    let (whole, fraction) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 9
    {
        return Err(invalid());
    }
    let shillings: i64 = whole.parse().map_err(|_| invalid())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let total = shillings * 100 + cents;
    if total > 100_000_000 * 100 {
        return Err(AppError::invalid(field, "must be at most KES 100,000,000"));
    }
    Ok(total)
}

/// "KES 1,500" or "KES 1,500.50".
pub fn format_kes(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let whole = (minor / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match minor % 100 {
        0 => format!("{sign}KES {grouped}"),
        cents => format!("{sign}KES {grouped}.{cents:02}"),
    }
}

/// "1500.00": shillings with two decimals and no grouping, for CSV files.
pub fn format_kes_plain(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02}", minor / 100, minor % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_amounts_have_two_decimals_and_no_grouping() {
        assert_eq!(format_kes_plain(150_050), "1500.50");
        assert_eq!(format_kes_plain(7), "0.07");
        assert_eq!(format_kes_plain(-100), "-1.00");
    }

    #[test]
    fn amounts_parse_to_cents_exactly() {
        assert_eq!(parse_kes("price", "1500").unwrap(), 150_000);
        assert_eq!(parse_kes("price", "1,500.5").unwrap(), 150_050);
        assert_eq!(parse_kes("price", "KES 1,500.50").unwrap(), 150_050);
        assert_eq!(parse_kes("price", "0.01").unwrap(), 1);
        assert_eq!(parse_kes("price", "0").unwrap(), 0);
    }

    #[test]
    fn bad_amounts_name_the_field() {
        for bad in [
            "",
            "-5",
            "1.234",
            "abc",
            "1e3",
            ".5",
            "12.3.4",
            "1000000001",
        ] {
            match parse_kes("price", bad) {
                Err(AppError::Invalid { field, .. }) => assert_eq!(field, "price", "{bad}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn amounts_format_with_thousands_and_cents_only_when_needed() {
        assert_eq!(format_kes(150_000), "KES 1,500");
        assert_eq!(format_kes(150_050), "KES 1,500.50");
        assert_eq!(format_kes(100_000_000), "KES 1,000,000");
        assert_eq!(format_kes(5), "KES 0.05");
        assert_eq!(format_kes(-2_500), "-KES 25");
    }

    #[test]
    fn formatting_then_parsing_gives_back_the_amount() {
        for minor in [0, 1, 99, 100, 12_345, 150_050, 9_999_999_999] {
            assert_eq!(
                parse_kes("x", &format_kes(minor)).unwrap(),
                minor,
                "{minor}"
            );
        }
    }
}
