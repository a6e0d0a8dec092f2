//! Twilio Programmable Messaging: webhook signatures (the REST client follows).

pub mod signature;
