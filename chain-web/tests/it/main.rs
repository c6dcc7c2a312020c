//! Integration tests of the web app against real nodes: one binary (fewer link steps on a small
//! machine). `api` drives the JSON API, `pages` drives the pages over HTTP; `browser` drives headless Chromium.

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used)]

mod abuse;
mod api;
mod browser;
mod pages;
mod support;
