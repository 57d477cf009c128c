//! The operator app's frame: top bar, side navigation and the content outlet.

pub mod model;
mod pages;
pub mod public;

pub use pages::{OperatorLayout, WorkspaceResource};
