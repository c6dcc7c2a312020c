//! The pure consensus core.
