use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::AppError, money};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    Pppoe,
    Hotspot,
    StaticIp,
}

impl PlanKind {
    pub const ALL: [PlanKind; 3] = [PlanKind::Pppoe, PlanKind::Hotspot, PlanKind::StaticIp];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Pppoe => "pppoe",
            PlanKind::Hotspot => "hotspot",
            PlanKind::StaticIp => "static_ip",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PlanKind::Pppoe => "PPPoE",
            PlanKind::Hotspot => "Hotspot",
            PlanKind::StaticIp => "Static IP",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AppError> {
        PlanKind::ALL
            .into_iter()
            .find(|k| k.as_str() == input)
            .ok_or_else(|| AppError::invalid("kind", "choose PPPoE, hotspot or static IP"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityUnit {
    Minutes,
    Hours,
    Days,
    Weeks,
    /// Calendar months: 31 Jan + 1 month = 28/29 Feb.
    Months,
}

impl ValidityUnit {
    pub const ALL: [ValidityUnit; 5] = [
        ValidityUnit::Minutes,
        ValidityUnit::Hours,
        ValidityUnit::Days,
        ValidityUnit::Weeks,
        ValidityUnit::Months,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValidityUnit::Minutes => "minutes",
            ValidityUnit::Hours => "hours",
            ValidityUnit::Days => "days",
            ValidityUnit::Weeks => "weeks",
            ValidityUnit::Months => "months",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AppError> {
        ValidityUnit::ALL
            .into_iter()
            .find(|u| u.as_str() == input)
            .ok_or_else(|| {
                AppError::invalid(
                    "validity_unit",
                    "choose minutes, hours, days, weeks or months",
                )
            })
    }
}

/// A plan as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: Uuid,
    pub name: String,
    pub kind: PlanKind,
    pub price_minor: i64,
    pub validity_unit: ValidityUnit,
    pub validity_count: i32,
    pub download_kbps: i32,
    pub upload_kbps: i32,
    pub burst_download_kbps: Option<i32>,
    pub burst_upload_kbps: Option<i32>,
    pub data_cap_bytes: Option<i64>,
    pub shared_users: Option<i32>,
    pub archived: bool,
}

impl Plan {
    pub fn validity_label(&self) -> String {
        validity_label(self.validity_count, self.validity_unit)
    }

    /// The MikroTik `rate-limit` value for this plan.
    pub fn rate_limit(&self) -> String {
        rate_limit(
            self.download_kbps,
            self.upload_kbps,
            self.burst_download_kbps.zip(self.burst_upload_kbps),
        )
    }
}

/// "1 month", "2 hours": a validity as people say it.
pub fn validity_label(count: i32, unit: ValidityUnit) -> String {
    let unit = unit.as_str();
    if count == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{count} {unit}")
    }
}

/// A MikroTik rate-limit string. RouterOS reads it from the router's side: `rx/tx`, where rx is
/// what the router receives from the client (the client's upload) and tx what it sends (the
/// client's download). With a burst: `rx/tx burst-rx/burst-tx threshold-rx/threshold-tx
/// time-rx/time-tx`, threshold three quarters of the normal rate and 8-second bursts.
pub fn rate_limit(download_kbps: i32, upload_kbps: i32, burst: Option<(i32, i32)>) -> String {
    let base = format!("{}/{}", rate(upload_kbps), rate(download_kbps));
    match burst {
        None => base,
        Some((burst_down, burst_up)) => format!(
            "{base} {}/{} {}/{} 8/8",
            rate(burst_up),
            rate(burst_down),
            rate(upload_kbps * 3 / 4),
            rate(download_kbps * 3 / 4),
        ),
    }
}

/// RouterOS rate notation: whole megabits as `10M`, anything else in kilobits as `512k`.
fn rate(kbps: i32) -> String {
    if kbps % 1000 == 0 {
        format!("{}M", kbps / 1000)
    } else {
        format!("{kbps}k")
    }
}

/// Speeds are typed in Mbps ("10", "2.5", "0.512").
pub fn parse_mbps(field: &str, input: &str) -> Result<i32, AppError> {
    let invalid = || AppError::invalid(field, "must be a speed in Mbps, like 10 or 2.5");
    let value: f64 = input.trim().parse().map_err(|_| invalid())?;
    if !value.is_finite() || value <= 0.0 || value > 100_000.0 {
        return Err(invalid());
    }
    // Kbps are whole numbers; rounding to the nearest is what an operator means by "2.5".
    let kbps = (value * 1000.0).round() as i32;
    if kbps < 1 {
        return Err(invalid());
    }
    Ok(kbps)
}

/// The plan form as submitted: every field as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    pub name: String,
    pub kind: String,
    pub price: String,
    pub validity_count: String,
    pub validity_unit: String,
    pub download_mbps: String,
    pub upload_mbps: String,
    pub burst_download_mbps: String,
    pub burst_upload_mbps: String,
    pub data_cap_gb: String,
    pub shared_users: String,
}

impl From<&Plan> for PlanForm {
    /// The form an operator edits: the stored plan written back as they would type it.
    fn from(plan: &Plan) -> Self {
        let mbps = |kbps: i32| {
            if kbps % 1000 == 0 {
                (kbps / 1000).to_string()
            } else {
                format!("{}", f64::from(kbps) / 1000.0)
            }
        };
        let price = if plan.price_minor % 100 == 0 {
            (plan.price_minor / 100).to_string()
        } else {
            format!("{}.{:02}", plan.price_minor / 100, plan.price_minor % 100)
        };
        PlanForm {
            name: plan.name.clone(),
            kind: plan.kind.as_str().into(),
            price,
            validity_count: plan.validity_count.to_string(),
            validity_unit: plan.validity_unit.as_str().into(),
            download_mbps: mbps(plan.download_kbps),
            upload_mbps: mbps(plan.upload_kbps),
            burst_download_mbps: plan.burst_download_kbps.map(mbps).unwrap_or_default(),
            burst_upload_mbps: plan.burst_upload_kbps.map(mbps).unwrap_or_default(),
            data_cap_gb: plan
                .data_cap_bytes
                .map(|b| format!("{}", b as f64 / 1e9))
                .unwrap_or_default(),
            shared_users: plan.shared_users.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

/// A checked plan, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub name: String,
    pub kind: PlanKind,
    pub price_minor: i64,
    pub validity_unit: ValidityUnit,
    pub validity_count: i32,
    pub download_kbps: i32,
    pub upload_kbps: i32,
    pub burst: Option<(i32, i32)>,
    pub data_cap_bytes: Option<i64>,
    pub shared_users: Option<i32>,
}

fn optional(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

impl PlanForm {
    /// Checks every field, naming the first that is wrong. Runs in the browser (preview) and on
    /// the server (the check that counts).
    pub fn check(&self) -> Result<PlanInput, AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::invalid("name", "must be 1 to 80 characters"));
        }
        let kind = PlanKind::parse(self.kind.trim())?;
        let price_minor = money::parse_kes("price", &self.price)?;
        let validity_count = match self.validity_count.trim().parse::<i32>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return Err(AppError::invalid(
                    "validity_count",
                    "must be a whole number from 1 to 10,000",
                ));
            }
        };
        let validity_unit = ValidityUnit::parse(self.validity_unit.trim())?;
        let download_kbps = parse_mbps("download_mbps", &self.download_mbps)?;
        let upload_kbps = parse_mbps("upload_mbps", &self.upload_mbps)?;
        let burst = match (
            optional(&self.burst_download_mbps),
            optional(&self.burst_upload_mbps),
        ) {
            (None, None) => None,
            (Some(d), Some(u)) => {
                let (d, u) = (
                    parse_mbps("burst_download_mbps", d)?,
                    parse_mbps("burst_upload_mbps", u)?,
                );
                if d <= download_kbps || u <= upload_kbps {
                    return Err(AppError::invalid(
                        "burst_download_mbps",
                        "a burst must be faster than the normal speed",
                    ));
                }
                Some((d, u))
            }
            (None, Some(_)) => {
                return Err(AppError::invalid(
                    "burst_download_mbps",
                    "give both burst speeds, or neither",
                ));
            }
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "burst_upload_mbps",
                    "give both burst speeds, or neither",
                ));
            }
        };
        let data_cap_bytes = match optional(&self.data_cap_gb) {
            None => None,
            Some(gb) => match gb.parse::<f64>() {
                // Decimal gigabytes, as ISPs advertise them (1 GB = 10^9 bytes).
                Ok(v) if v.is_finite() && v > 0.0 && v <= 1_000_000.0 => {
                    Some((v * 1e9).round() as i64)
                }
                _ => {
                    return Err(AppError::invalid(
                        "data_cap_gb",
                        "must be a number of GB, like 5 or 0.5",
                    ));
                }
            },
        };
        let shared_users = match optional(&self.shared_users) {
            None => None,
            Some(_) if kind != PlanKind::Hotspot => {
                return Err(AppError::invalid(
                    "shared_users",
                    "applies to hotspot plans only",
                ));
            }
            Some(n) => match n.parse::<i32>() {
                Ok(n) if (1..=1000).contains(&n) => Some(n),
                _ => {
                    return Err(AppError::invalid(
                        "shared_users",
                        "must be a whole number from 1 to 1,000",
                    ));
                }
            },
        };
        Ok(PlanInput {
            name: name.to_string(),
            kind,
            price_minor,
            validity_unit,
            validity_count,
            download_kbps,
            upload_kbps,
            burst,
            data_cap_bytes,
            shared_users,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PlanForm {
        PlanForm {
            name: "Home 10".into(),
            kind: "pppoe".into(),
            price: "2,500".into(),
            validity_count: "1".into(),
            validity_unit: "months".into(),
            download_mbps: "10".into(),
            upload_mbps: "5".into(),
            ..PlanForm::default()
        }
    }

    #[test]
    fn the_rate_limit_is_written_from_the_routers_side() {
        // A client downloading at 10M and uploading at 5M: rx (client upload) first.
        assert_eq!(rate_limit(10_000, 5_000, None), "5M/10M");
        assert_eq!(rate_limit(2_500, 512, None), "512k/2500k");
        assert_eq!(
            rate_limit(10_000, 5_000, Some((20_000, 10_000))),
            "5M/10M 10M/20M 3750k/7500k 8/8"
        );
    }

    #[test]
    fn a_good_form_becomes_a_plan() {
        let plan = form().check().unwrap();
        assert_eq!(plan.price_minor, 250_000);
        assert_eq!((plan.download_kbps, plan.upload_kbps), (10_000, 5_000));
        assert_eq!(plan.validity_unit, ValidityUnit::Months);
        assert_eq!(plan.burst, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoil = fn(&mut PlanForm);
        let cases: [(&str, Spoil); 8] = [
            ("name", |f| f.name = " ".into()),
            ("kind", |f| f.kind = "fibre".into()),
            ("price", |f| f.price = "-1".into()),
            ("validity_count", |f| f.validity_count = "0".into()),
            ("download_mbps", |f| f.download_mbps = "fast".into()),
            ("burst_download_mbps", |f| f.burst_upload_mbps = "20".into()),
            ("burst_download_mbps", |f| {
                f.burst_download_mbps = "5".into();
                f.burst_upload_mbps = "10".into();
            }),
            ("shared_users", |f| f.shared_users = "2".into()),
        ];
        for (field, spoil) in cases {
            let mut f = form();
            spoil(&mut f);
            match f.check() {
                Err(AppError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn hotspot_plans_take_a_shared_users_limit_and_caps_are_decimal_gb() {
        let mut f = form();
        f.kind = "hotspot".into();
        f.shared_users = "3".into();
        f.data_cap_gb = "1.5".into();
        let plan = f.check().unwrap();
        assert_eq!(plan.shared_users, Some(3));
        assert_eq!(plan.data_cap_bytes, Some(1_500_000_000));
    }

    #[test]
    fn a_stored_plan_written_back_as_a_form_checks_to_the_same_plan() {
        let mut f = form();
        f.kind = "hotspot".into();
        f.price = "49.50".into();
        f.download_mbps = "2.5".into();
        f.upload_mbps = "0.512".into();
        f.burst_download_mbps = "4".into();
        f.burst_upload_mbps = "1".into();
        f.data_cap_gb = "1.5".into();
        f.shared_users = "2".into();
        let input = f.check().unwrap();
        let (burst_download_kbps, burst_upload_kbps) = input.burst.unzip();
        let stored = Plan {
            id: Uuid::nil(),
            name: input.name.clone(),
            kind: input.kind,
            price_minor: input.price_minor,
            validity_unit: input.validity_unit,
            validity_count: input.validity_count,
            download_kbps: input.download_kbps,
            upload_kbps: input.upload_kbps,
            burst_download_kbps,
            burst_upload_kbps,
            data_cap_bytes: input.data_cap_bytes,
            shared_users: input.shared_users,
            archived: false,
        };
        assert_eq!(PlanForm::from(&stored).check().unwrap(), input);
    }
}
