//! Pure types and rules of the aftersales domain, one module per capability.
//! No I/O, no async, no clock reads: time and randomness come in as arguments.

pub mod calendar;
pub mod cases;
pub mod clock;
pub mod crm;
pub mod i18n;
pub mod org;
pub mod user;
pub mod validation;

pub use validation::{FieldError, Rule, ValidationErrors};
