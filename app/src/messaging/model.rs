//! What the messages settings page shows.

use serde::{Deserialize, Serialize};

use crate::messaging::template::{Event, Language};

/// One event's words in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub event: Event,
    pub language: Language,
    /// The words sent: the ISP's own, or the default.
    pub text: String,
    /// Whether the ISP wrote its own.
    pub custom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesView {
    pub rows: Vec<TemplateRow>,
    /// Owner and admins may change them.
    pub editable: bool,
}
