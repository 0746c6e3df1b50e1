//! Pure types and rules of the aftersales domain, one module per capability.
//! No I/O, no async, no clock reads: time and randomness come in as arguments.

/// A closed vocabulary: a kebab-case code per variant, `ALL`, `as_str` and a `parse` that names
/// the field and lists the allowed codes.
macro_rules! vocabulary {
    ($(#[$m:meta])* $t:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "kebab-case")]
        $(#[$m])*
        pub enum $t { $($v),+ }
        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s),+ }
            }
            pub fn parse(field: &str, s: &str) -> Result<$t, FieldError> {
                match s.trim() {
                    $($s => Ok($t::$v),)+
                    _ => Err(FieldError::new(field, Rule::OneOf, format!("{field} must be one of {}", [$($s),+].join(", ")))),
                }
            }
        }
    };
}

pub mod analysis;
pub mod billing;
pub mod calendar;
pub mod cases;
pub mod clock;
pub mod crm;
pub mod i18n;
pub mod kpi;
pub mod logistics;
pub mod money;
pub mod notify;
pub mod org;
pub mod pilot;
pub mod reminders;
pub mod standards;
pub mod training;
pub mod user;
pub mod validation;
pub mod warranty;
pub mod workshop;

pub use validation::{FieldError, Rule, ValidationErrors};

// Dates in answers are `YYYY-MM-DD` (the API conventions), never the `time` crate's own
// `[year, ordinal]` form: `#[serde(with = "aftersales_domain::iso_date")]`, or `::option`.
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");
