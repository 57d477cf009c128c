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

/// What a staff member may do. Server functions and handlers check one of these on the server
/// (`require(Permission::…)`); pages use the same table only to hide what would be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// View, add, edit, suspend and reactivate customers.
    ManageCustomers,
    DeleteCustomers,
    /// Read a service's PPPoE/hotspot password back (each reveal is audited).
    RevealServicePasswords,
    ViewTransactions,
    /// Mark invoices paid, waive, cancel, issue credit notes, run billing.
    ManageInvoices,
    ManageRouters,
    ManagePlans,
    ManagePaymentSettings,
    ManageStaff,
    ManageSystemSettings,
    /// Read the audit log.
    ViewAuditLog,
    /// The ISP's own Jasiyo subscription and billing.
    ManageSubscription,
    /// Text a segment of subscribers at once (marketing: consent applies).
    SendBulkMessages,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::ManageCustomers,
        Permission::DeleteCustomers,
        Permission::RevealServicePasswords,
        Permission::ViewTransactions,
        Permission::ManageInvoices,
        Permission::ManageRouters,
        Permission::ManagePlans,
        Permission::ManagePaymentSettings,
        Permission::ManageStaff,
        Permission::ManageSystemSettings,
        Permission::ViewAuditLog,
        Permission::ManageSubscription,
        Permission::SendBulkMessages,
    ];
}

impl Role {
    /// The role matrix (DESIGN.md, People and surfaces): owner everything; admin everything but
    /// the ISP's own subscription; support customer care and viewing transactions only.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => permission != ManageSubscription,
            Role::Support => matches!(permission, ManageCustomers | ViewTransactions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_matrix_matches_the_product_definition() {
        use Permission::*;
        // (permission, owner, admin, support)
        let matrix = [
            (ManageCustomers, true, true, true),
            (DeleteCustomers, true, true, false),
            (RevealServicePasswords, true, true, false),
            (ViewTransactions, true, true, true),
            (ManageInvoices, true, true, false),
            (ManageRouters, true, true, false),
            (ManagePlans, true, true, false),
            (ManagePaymentSettings, true, true, false),
            (ManageStaff, true, true, false),
            (ManageSystemSettings, true, true, false),
            (ViewAuditLog, true, true, false),
            (ManageSubscription, true, false, false),
            (SendBulkMessages, true, true, false),
        ];
        assert_eq!(
            matrix.len(),
            Permission::ALL.len(),
            "every permission is in the matrix"
        );
        for (permission, owner, admin, support) in matrix {
            assert_eq!(Role::Owner.can(permission), owner, "owner {permission:?}");
            assert_eq!(Role::Admin.can(permission), admin, "admin {permission:?}");
            assert_eq!(
                Role::Support.can(permission),
                support,
                "support {permission:?}"
            );
        }
    }
}

/// Password rules (NIST SP 800-63B): 8 to 128 characters, no composition rules. Counted in
/// characters, not bytes, so a Swahili or emoji passphrase is measured as typed. Shared with the
/// browser so forms can say so before submitting.
pub fn validate_password(password: &str) -> Result<(), crate::error::AppError> {
    let chars = password.chars().count();
    if chars < 8 {
        return Err(crate::error::AppError::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    if chars > 128 {
        return Err(crate::error::AppError::invalid(
            "password",
            "must be at most 128 characters",
        ));
    }
    Ok(())
}

/// An email address as Jasiyo stores it: trimmed and lowercased, with a plausible shape. Full
/// validation is the verification email; this catches typos before a round trip.
pub fn normalise_email(input: &str) -> Result<String, crate::error::AppError> {
    let email = input.trim().to_lowercase();
    let invalid = |reason: &str| crate::error::AppError::invalid("email", reason);
    if email.is_empty() {
        return Err(invalid("is required"));
    }
    if email.chars().count() > 254 {
        return Err(invalid("is too long"));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(invalid("must look like name@example.com"));
    };
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.chars().any(char::is_whitespace)
    {
        return Err(invalid("must look like name@example.com"));
    }
    Ok(email)
}

#[cfg(test)]
mod email_tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalise_email("  Owner@ISP.co.ke ").unwrap(),
            "owner@isp.co.ke"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_the_field_named() {
        for bad in [
            "",
            "owner",
            "owner@",
            "@isp.co.ke",
            "owner@isp",
            "own er@isp.co.ke",
            "a@.ke.",
        ] {
            match normalise_email(bad) {
                Err(crate::error::AppError::Invalid { field, .. }) => assert_eq!(field, "email"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(validate_password("ñandú123").is_ok()); // 8 characters, 10 bytes
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"é".repeat(128)).is_ok());
        assert!(validate_password(&"é".repeat(129)).is_err());
    }
}

/// A person's or company's name: trimmed, 1 to 120 characters. Returns the trimmed name.
pub fn validate_name(field: &str, input: &str) -> Result<String, crate::error::AppError> {
    let name = input.trim();
    match name.chars().count() {
        0 => Err(crate::error::AppError::invalid(field, "is required")),
        1..=120 => Ok(name.to_string()),
        _ => Err(crate::error::AppError::invalid(
            field,
            "must be at most 120 characters",
        )),
    }
}
