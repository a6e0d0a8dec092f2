//! SMS: the channel that reaches every phone, priced per segment.
//!
//! [`segments`] tells exactly how a text will be encoded and split (and billed) before it
//! is sent. The Twilio and Vonage channels build on it.

pub mod segments;
pub mod twilio;
