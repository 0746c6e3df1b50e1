//! The API's types, one module per capability: the records the store answers with and the inputs it
//! takes, which the HTTP API serialises and documents (`utoipa::ToSchema`). Pure data with serde and
//! schema derives and the small accessors on them; no I/O. The store re-exports each type from its
//! capability module, so `aftersales_store::billing::BillingDocument` is this crate's type, and the
//! persistence crate defines no part of the HTTP schema (see docs/decisions/0005).

pub mod audit;
pub mod auth;
pub mod billing;
pub mod cases;
mod common;
pub mod crm;
pub mod kpis;
pub mod logistics;
pub mod notify;
pub mod org;
pub mod pilots;
pub mod reminders;
pub mod standards;
pub mod training;
pub mod user;
pub mod warranty;
pub mod workshop;

pub use common::*;
