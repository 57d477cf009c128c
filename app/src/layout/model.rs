//! The operator app's areas: one list that drives the navigation.

/// A section of the operator app, in the order the side navigation shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    Dashboard,
    Customers,
    Tickets,
    Plans,
    Invoices,
    Payments,
    Routers,
    Vouchers,
    Messages,
    Reports,
    Settings,
}

impl Area {
    pub const ALL: [Area; 11] = [
        Area::Dashboard,
        Area::Customers,
        Area::Tickets,
        Area::Plans,
        Area::Invoices,
        Area::Payments,
        Area::Routers,
        Area::Vouchers,
        Area::Messages,
        Area::Reports,
        Area::Settings,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Area::Dashboard => "Dashboard",
            Area::Customers => "Customers",
            Area::Tickets => "Tickets",
            Area::Plans => "Plans",
            Area::Invoices => "Invoices",
            Area::Payments => "Payments",
            Area::Routers => "Routers",
            Area::Vouchers => "Vouchers",
            Area::Messages => "Messages",
            Area::Reports => "Reports",
            Area::Settings => "Settings",
        }
    }

    pub fn href(self) -> &'static str {
        match self {
            Area::Dashboard => "/app",
            Area::Customers => "/app/customers",
            Area::Tickets => "/app/tickets",
            Area::Plans => "/app/plans",
            Area::Invoices => "/app/invoices",
            Area::Payments => "/app/payments",
            Area::Routers => "/app/routers",
            Area::Vouchers => "/app/vouchers",
            Area::Messages => "/app/messages",
            Area::Reports => "/app/reports",
            Area::Settings => "/app/settings",
        }
    }

    /// A one-character glyph for the navigation (no icon font, no extra request).
    pub fn glyph(self) -> &'static str {
        match self {
            Area::Dashboard => "◧",
            Area::Customers => "☺",
            Area::Tickets => "✚",
            Area::Plans => "▤",
            Area::Invoices => "▦",
            Area::Payments => "¤",
            Area::Routers => "⇄",
            Area::Vouchers => "✦",
            Area::Messages => "✉",
            Area::Reports => "▥",
            Area::Settings => "⚙",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_area_has_its_own_address_under_the_operator_app() {
        let hrefs: HashSet<_> = Area::ALL.iter().map(|a| a.href()).collect();
        assert_eq!(hrefs.len(), Area::ALL.len(), "two areas share an address");
        assert!(Area::ALL.iter().all(|a| a.href().starts_with("/app")));
    }
}
