//! Validation errors that name the field and the rule broken; every parse at the edge returns these.

use serde::Serialize;

/// The rule a value broke. Stable identifiers: API clients match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Required,
    TooShort,
    TooLong,
    Format,
    OneOf,
    Unique,
    Unknown,
    NotAllowed,
    Type,
    /// A check digit (VIN, organisation number, NIF) does not match.
    CheckDigit,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::Required,
        Rule::TooShort,
        Rule::TooLong,
        Rule::Format,
        Rule::OneOf,
        Rule::Unique,
        Rule::Unknown,
        Rule::NotAllowed,
        Rule::Type,
        Rule::CheckDigit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::TooShort => "too-short",
            Rule::TooLong => "too-long",
            Rule::Format => "format",
            Rule::OneOf => "one-of",
            Rule::Unique => "unique",
            Rule::Unknown => "unknown",
            Rule::NotAllowed => "not-allowed",
            Rule::Type => "type",
            Rule::CheckDigit => "check-digit",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a JSON pointer-like dotted path (`password`, `memberships.0.role`).
    pub field: String,
    pub rule: Rule,
    /// A sentence in English for humans; clients translate by `rule`.
    pub message: String,
    /// The key of a message made for exactly this case (`err-km-below-last`), for pages that
    /// speak the reader's language; not part of the API's answer.
    #[serde(skip)]
    #[schema(ignore)]
    pub hint: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule,
            message: message.into(),
            hint: None,
        }
    }

    /// Names the translated message a page shows for this error.
    pub fn hint(mut self, key: &'static str) -> Self {
        self.hint = Some(key);
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{} ({}): {}", e.field, e.rule.as_str(), e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, rule, message)])
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Collects the error of a parse into this list, passing the value through.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

/// Like `text`, for free text that may span lines (notes, messages, symptoms, mail bodies):
/// line breaks and tabs are allowed, other control characters are not.
pub fn text_block(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let cleaned: String = value.replace("\r\n", "\n");
    let v = cleaned.trim();
    let n = v.chars().count();
    if n == 0 && min > 0 {
        return Err(FieldError::new(
            field,
            Rule::Required,
            format!("{field} is required"),
        ));
    }
    if n < min {
        return Err(FieldError::new(
            field,
            Rule::TooShort,
            format!("{field} must have at least {min} characters"),
        ));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            format!("{field} must have at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}

/// Trims a text field and checks its length in characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 && min > 0 {
        return Err(FieldError::new(
            field,
            Rule::Required,
            format!("{field} is required"),
        ));
    }
    if n < min {
        return Err(FieldError::new(
            field,
            Rule::TooShort,
            format!("{field} must have at least {min} characters"),
        ));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            Rule::TooLong,
            format!("{field} must have at most {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}

/// A date that must lie between two days (inclusive): an impossible date ("3000-01-01", a delivery
/// in the future) is refused with the field and the range, not stored or answered with "no time".
pub fn date_between(
    field: &str,
    d: time::Date,
    earliest: time::Date,
    latest: time::Date,
) -> Result<time::Date, FieldError> {
    if d < earliest || d > latest {
        return Err(FieldError::new(
            field,
            Rule::NotAllowed,
            format!("{field} must lie between {earliest} and {latest}"),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_keep_lines() {
        assert_eq!(
            super::text_block("body", " a\r\nb\tc ", 1, 10).unwrap(),
            "a\nb\tc"
        );
        assert!(super::text("body", "a\nb", 1, 10).is_err());
        assert!(super::text_block("body", "a\u{7}b", 1, 10).is_err());
    }
}
