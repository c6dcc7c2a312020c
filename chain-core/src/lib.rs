//! The pure consensus core.
pub mod mining;
