use serde::{Deserialize, Serialize};

/// The ISP's business details (Settings → General).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessSettings {
    pub name: String,
    pub county: Option<String>,
    pub address: Option<String>,
    /// 2547XXXXXXXX / 2541XXXXXXXX
    pub phone: Option<String>,
    pub support_email: Option<String>,
    pub whatsapp: Option<String>,
    pub time_zone: String,
    pub grace_period_days: i32,
    /// Whether the viewer may change them (owner and admin).
    pub editable: bool,
}

/// The 47 counties of Kenya, for the county picker.
pub const COUNTIES: [&str; 47] = [
    "Baringo",
    "Bomet",
    "Bungoma",
    "Busia",
    "Elgeyo-Marakwet",
    "Embu",
    "Garissa",
    "Homa Bay",
    "Isiolo",
    "Kajiado",
    "Kakamega",
    "Kericho",
    "Kiambu",
    "Kilifi",
    "Kirinyaga",
    "Kisii",
    "Kisumu",
    "Kitui",
    "Kwale",
    "Laikipia",
    "Lamu",
    "Machakos",
    "Makueni",
    "Mandera",
    "Marsabit",
    "Meru",
    "Migori",
    "Mombasa",
    "Murang'a",
    "Nairobi",
    "Nakuru",
    "Nandi",
    "Narok",
    "Nyamira",
    "Nyandarua",
    "Nyeri",
    "Samburu",
    "Siaya",
    "Taita-Taveta",
    "Tana River",
    "Tharaka-Nithi",
    "Trans Nzoia",
    "Turkana",
    "Uasin Gishu",
    "Vihiga",
    "Wajir",
    "West Pokot",
];

/// Time zones offered in the picker; the server accepts any IANA zone.
pub const TIME_ZONES: [&str; 6] = [
    "Africa/Nairobi",
    "Africa/Kampala",
    "Africa/Dar_es_Salaam",
    "Africa/Kigali",
    "Africa/Lagos",
    "UTC",
];

/// Grace period: days after expiry before a customer is cut off.
pub fn parse_grace_days(input: &str) -> Result<i32, crate::error::AppError> {
    match input.trim().parse::<i32>() {
        Ok(days) if (0..=60).contains(&days) => Ok(days),
        _ => Err(crate::error::AppError::invalid(
            "grace_period_days",
            "must be a whole number of days from 0 to 60",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_days_are_0_to_60() {
        assert_eq!(parse_grace_days(" 3 ").unwrap(), 3);
        assert!(parse_grace_days("61").is_err());
        assert!(parse_grace_days("-1").is_err());
        assert!(parse_grace_days("two").is_err());
    }

    #[test]
    fn there_are_47_counties_in_order() {
        let mut sorted = COUNTIES;
        sorted.sort_unstable();
        assert_eq!(sorted, COUNTIES);
    }
}
