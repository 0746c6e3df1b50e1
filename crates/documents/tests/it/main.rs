//! The legal algorithms against official values and the official validators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ehf;
mod pdf;
mod pt;
mod saft;
mod support;
