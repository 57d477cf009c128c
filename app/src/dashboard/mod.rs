//! The operator's landing page.

mod pages;

pub use pages::DashboardPage;
