//! The warp web frontend: JSON API, server-sent events and HTML pages over a `Node` handle.
