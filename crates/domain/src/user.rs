//! People who use the staff UI: usernames, passwords, e-mail addresses, parsed once at the edge.

use crate::validation::{text, FieldError, Rule};

/// A login name: 3–64 characters of `a-z 0-9 . _ -`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, s: &str) -> Result<Username, FieldError> {
        let v = s.trim().to_ascii_lowercase();
        if v.is_empty() {
            return Err(FieldError::new(
                field,
                Rule::Required,
                format!("{field} is required"),
            ));
        }
        if v.len() < 3 {
            return Err(FieldError::new(
                field,
                Rule::TooShort,
                format!("{field} must have at least 3 characters"),
            ));
        }
        if v.len() > 64 {
            return Err(FieldError::new(
                field,
                Rule::TooLong,
                format!("{field} must have at most 64 characters"),
            ));
        }
        if !v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("{field} may contain only letters a-z, digits and . _ -"),
            ));
        }
        Ok(Username(v))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 12 characters (NIST SP 800-63B length rule), at most 256.
/// Checked only when set; login compares against the stored hash whatever was typed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(field: &str, s: &str) -> Result<NewPassword, FieldError> {
        let n = s.chars().count();
        if s.trim().is_empty() {
            return Err(FieldError::new(
                field,
                Rule::Required,
                format!("{field} is required"),
            ));
        }
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                Rule::TooShort,
                format!("{field} must have at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > 256 {
            return Err(FieldError::new(
                field,
                Rule::TooLong,
                format!("{field} must have at most 256 characters"),
            ));
        }
        Ok(NewPassword(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An e-mail address: one `@`, a non-empty local part, a domain with a dot, no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, s: &str) -> Result<Email, FieldError> {
        let v = s.trim();
        if v.is_empty() {
            return Err(FieldError::new(
                field,
                Rule::Required,
                format!("{field} is required"),
            ));
        }
        let bad = || {
            FieldError::new(
                field,
                Rule::Format,
                format!("{field} must be an e-mail address like name@example.no"),
            )
        };
        if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown to colleagues.
pub fn display_name(field: &str, s: &str) -> Result<String, FieldError> {
    text(field, s, 1, 120)
}

/// Recent failed sign-ins for one key (an account and address pair, an account, an address).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub last: Option<time::OffsetDateTime>,
}

/// How long the next sign-in for a key must wait: nothing below `free` recent failures; from there
/// one minute, doubling with each further failure, at most `cap`, counted from the last failure. It
/// slows a guesser down without locking anyone out for good.
pub fn sign_in_wait(
    f: Failures,
    free: i64,
    cap: time::Duration,
    now: time::OffsetDateTime,
) -> Option<time::Duration> {
    if f.count < free {
        return None;
    }
    let doublings = u32::try_from((f.count - free).min(16)).unwrap_or(16);
    let wait = (time::Duration::minutes(1) * 2_i32.pow(doublings)).min(cap);
    let until = f.last? + wait;
    (until > now).then(|| until - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_waits_grow_and_end() {
        use time::macros::datetime;
        use time::Duration;
        let t0 = datetime!(2026-12-06 10:00 UTC);
        let f = |count| Failures {
            count,
            last: Some(t0),
        };
        let cap = Duration::minutes(15);
        assert_eq!(sign_in_wait(f(4), 5, cap, t0), None);
        assert_eq!(sign_in_wait(f(5), 5, cap, t0), Some(Duration::minutes(1)));
        assert_eq!(sign_in_wait(f(6), 5, cap, t0), Some(Duration::minutes(2)));
        assert_eq!(
            sign_in_wait(f(7), 5, cap, t0 + Duration::minutes(1)),
            Some(Duration::minutes(3))
        );
        assert_eq!(sign_in_wait(f(40), 5, cap, t0), Some(cap));
        assert_eq!(sign_in_wait(f(5), 5, cap, t0 + Duration::minutes(1)), None);
    }

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("username", " Ingrid.Solberg ").map(|u| u.0),
            Ok("ingrid.solberg".into())
        );
        assert_eq!(
            Username::parse("username", "ab").map_err(|e| e.rule),
            Err(Rule::TooShort)
        );
        assert_eq!(
            Username::parse("username", "a b c").map_err(|e| e.rule),
            Err(Rule::Format)
        );
        assert_eq!(
            Username::parse("username", "").map_err(|e| e.rule),
            Err(Rule::Required)
        );
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("password", "correct horse").is_ok());
        assert_eq!(
            NewPassword::parse("password", "short").map_err(|e| e.rule),
            Err(Rule::TooShort)
        );
        assert_eq!(
            format!("{:?}", NewPassword::parse("p", "correct horse battery")),
            "Ok(NewPassword(***))"
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("email", "Kari@Tesla.NO").map(|e| e.0),
            Ok("Kari@tesla.no".into())
        );
        for bad in [
            "kari",
            "kari@",
            "@tesla.no",
            "kari@tesla",
            "ka ri@tesla.no",
            "a@b@c.no",
        ] {
            assert_eq!(
                Email::parse("email", bad).map_err(|e| e.rule),
                Err(Rule::Format),
                "{bad}"
            );
        }
    }
}
