//! Integration tests of the HTTP layer, in-process (`tower::ServiceExt::oneshot`) against a real
//! SQLite file (and PostgreSQL where a test says so), plus a real-browser test in `browser`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod billing;
mod browser;
mod cases;
mod crm;
mod isolation;
mod kpis;
mod logistics;
mod pilots;
mod reminders;
mod standards;
mod support;
mod training;
mod ui;
mod warranty;
mod workshop;
