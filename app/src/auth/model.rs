use serde::{Deserialize, Serialize};

/// ISP staff roles (see DESIGN.md, People and surfaces). Ordered from most to least power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(
    feature = "ssr",
    sqlx(type_name = "staff_role", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, and cannot be restricted.
    Owner,
    /// Everything except the ISP's own Jasiyo subscription and billing.
    Admin,
    /// Day-to-day customer care: no deletions, no settings.
    Support,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Support => "Support",
        }
    }
}
