//! The contract's text rules: surrounding whitespace goes, other control characters are refused.

use crate::FieldError;

/// Trims `raw` and checks its length in characters (not bytes, so any script counts fairly).
/// `allow_layout` keeps inner newlines and tabs (message bodies); names and titles take neither.
pub fn clean(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    allow_layout: bool,
) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(if min == 1 {
            FieldError::new(field, "must not be empty")
        } else {
            FieldError::new(field, format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let bad = trimmed
        .chars()
        .any(|c| c.is_control() && !(allow_layout && (c == '\n' || c == '\t')));
    if bad {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_inner_layout_when_allowed() {
        assert_eq!(clean("body", "  a\n\tb  ", 1, 10, true).unwrap(), "a\n\tb");
        assert!(clean("title", "a\nb", 1, 10, false).is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(clean("name", "ééé", 1, 3, false).is_ok());
        assert!(clean("name", "éééé", 1, 3, false).is_err());
    }

    #[test]
    fn refuses_other_control_characters() {
        let err = clean("body", "a\u{7}b", 1, 10, true).unwrap_err();
        assert_eq!(err.field, "body");
    }

    #[test]
    fn whitespace_only_is_empty() {
        assert_eq!(
            clean("body", " \n ", 1, 10, true).unwrap_err().reason,
            "must not be empty"
        );
    }
}
