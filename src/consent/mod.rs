//! Consent: who may be messaged, about what, and since when.
//!
//! [`keywords`] recognises opt-out, opt-in and help messages (STOP, START, HELP and their
//! German equivalents). The consent ledger, its stores and the send guard build on it.

pub mod keywords;
