//! The operator app's frame: top bar, side navigation and the content outlet.

pub mod model;
mod pages;

pub use pages::{OperatorLayout, WorkspaceResource};
