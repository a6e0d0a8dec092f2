//! Requests refused locally, naming the field and the limit.

use std::borrow::Cow;

/// A request refused locally, before anything was sent: it names the field and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
#[non_exhaustive]
pub struct ValidationError {
    /// Path of the offending field, in the provider's JSON terms (`interactive.action.buttons`).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A required value is absent.
    #[error("is required")]
    Missing,
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// Text longer than allowed (in characters).
    #[error("at most {max} characters allowed, got {actual}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length given.
        actual: usize,
    },
    /// More items than allowed.
    #[error("at most {max} allowed, got {actual}")]
    TooMany {
        /// The limit.
        max: usize,
        /// The count given.
        actual: usize,
    },
    /// A file larger than allowed.
    #[error("at most {max} bytes allowed, got {actual}")]
    TooLarge {
        /// The limit in bytes.
        max: u64,
        /// The size given.
        actual: u64,
    },
    /// Two items that must be unique are not.
    #[error("must be unique, `{0}` appears twice")]
    Duplicate(String),
    /// The field is not allowed here.
    #[error("not allowed {0}")]
    NotAllowed(Cow<'static, str>),
    /// The value has the wrong format.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
}
