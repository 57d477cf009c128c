use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::model::Role;

/// What the top bar and dashboard show about the signed-in staff member and their ISP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub isp_name: String,
    pub user_name: String,
    pub role: Role,
    pub staff_count: i64,
    /// Set when the ISP has a logo: changes whenever the logo does (cache-busting for
    /// `/app/logo?v=…`).
    pub logo_version: Option<i64>,
}

/// The answer of a live database check made on request from the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseCheck {
    /// The database server's clock when it answered (so each check is visibly fresh).
    pub checked_at: DateTime<Utc>,
    /// e.g. "PostgreSQL 15.18".
    pub server_version: String,
    /// Time for the query to go from the app server to PostgreSQL and back.
    pub round_trip_micros: u64,
}

impl DatabaseCheck {
    /// Round trip in milliseconds with one decimal, for display.
    pub fn round_trip_label(&self) -> String {
        format!("{:.1} ms", self.round_trip_micros as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_shown_in_milliseconds_with_one_decimal() {
        let check = DatabaseCheck {
            checked_at: DateTime::<Utc>::UNIX_EPOCH,
            server_version: "PostgreSQL 15.18".into(),
            round_trip_micros: 1_234,
        };
        assert_eq!(check.round_trip_label(), "1.2 ms");
    }
}
