use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::model::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffStatus {
    Active,
    /// Invited, has not set a password yet.
    Invited,
    Disabled,
}

impl StaffStatus {
    pub fn label(self) -> &'static str {
        match self {
            StaffStatus::Active => "Active",
            StaffStatus::Invited => "Invited",
            StaffStatus::Disabled => "Disabled",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            StaffStatus::Active => "badge badge-success",
            StaffStatus::Invited => "badge badge-info",
            StaffStatus::Disabled => "badge badge-neutral",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub status: StaffStatus,
}

/// Roles that can be given by invitation or change: there is one owner, set at sign-up.
pub fn assignable(role: Role) -> bool {
    role != Role::Owner
}

pub fn parse_role(input: &str) -> Result<Role, crate::error::AppError> {
    match input {
        "admin" => Ok(Role::Admin),
        "support" => Ok(Role::Support),
        "owner" => Err(crate::error::AppError::invalid(
            "role",
            "there is one owner; choose admin or support",
        )),
        _ => Err(crate::error::AppError::invalid(
            "role",
            "choose admin or support",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_and_support_can_be_given() {
        assert_eq!(parse_role("admin").unwrap(), Role::Admin);
        assert_eq!(parse_role("support").unwrap(), Role::Support);
        assert!(parse_role("owner").is_err());
        assert!(parse_role("root").is_err());
        assert!(!assignable(Role::Owner));
    }
}
