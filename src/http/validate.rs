//! Checks shared by the provider request types.

use crate::error::{Problem, ValidationError};

/// Checks that `value` is non-empty and at most `max` characters long.
#[cfg(feature = "whatsapp")]
pub(crate) fn check_text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, Problem::Empty));
    }
    check_max_chars(field, value, max)
}

/// Checks that `value` is at most `max` characters long (Unicode scalar values).
pub(crate) fn check_max_chars(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Byte length bounds the char count from above, so short strings skip the count.
    if value.len() > max {
        let actual = value.chars().count();
        if actual > max {
            return Err(ValidationError::new(field, Problem::TooLong { max, actual }));
        }
    }
    Ok(())
}

/// Checks that a list has between 1 and `max` items.
#[cfg(feature = "whatsapp")]
pub(crate) fn check_count(field: &str, actual: usize, max: usize) -> Result<(), ValidationError> {
    if actual == 0 {
        return Err(ValidationError::new(field, Problem::Empty));
    }
    if actual > max {
        return Err(ValidationError::new(field, Problem::TooMany { max, actual }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "whatsapp")]
    #[test]
    fn text_checks_count_characters_not_bytes() {
        assert!(check_max_chars("f", &"ü".repeat(20), 20).is_ok());
        let err = check_max_chars("f", &"ü".repeat(21), 20).unwrap_err();
        assert_eq!(err.problem, Problem::TooLong { max: 20, actual: 21 });
        assert_eq!(err.to_string(), "f: at most 20 characters allowed, got 21");
        assert_eq!(check_text("f", "  ", 5).unwrap_err().problem, Problem::Empty);
        assert_eq!(
            check_count("b", 4, 3).unwrap_err().problem,
            Problem::TooMany { max: 3, actual: 4 }
        );
    }
}
