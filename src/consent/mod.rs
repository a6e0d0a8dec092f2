//! Consent: who may be messaged, about what, and since when.
//!
//! - [`keywords`] recognises opt-out, opt-in and help messages (STOP, START, HELP and their
//!   German equivalents).
//! - [`store`] is the append-only ledger: [`ConsentRecord`]s prove when and how consent was
//!   given or revoked, and the current [`ConsentState`] is derived from them.
//!   [`MemoryStore`] serves tests; `sqlite::SqliteStore` is the embedded, durable default
//!   (feature `sqlite`); `postgres::PostgresStore` shares one ledger between app instances
//!   (feature `postgres`).
//!   [`LinkedStore`] links one person's SMS and WhatsApp consent by phone number.
//! - GDPR: [`ConsentStore::export`] hands a person every record as JSON;
//!   [`ConsentStore::erase`] removes their address while keeping any opt-out in force as a
//!   tombstone keyed by an [`ErasureKey`].
//! - [`ConsentGuard`] wraps any channel and refuses, without a request, every message its
//!   recipient has not consented to.
//! - [`ConsentInterceptor`] records STOP, START and HELP messages and the platforms' own
//!   consent signals, and answers the keywords.

mod guard;
mod interceptor;
pub mod keywords;
mod linked;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;

pub use guard::ConsentGuard;
pub(crate) use guard::record_provider_refusal;
pub use interceptor::{ConsentInterceptor, Handled, Replies};
pub use linked::LinkedStore;
pub use store::{
    ConsentExport, ConsentRecord, ConsentState, ConsentStore, Erasure, ErasureKey, Evidence, MemoryStore,
    Source, Subject, SubscriberPage, SubscriberQuery,
};

/// The topic under which platform-level marketing opt-outs are recorded (WhatsApp's "stop
/// marketing messages"): while it is opted out, the guard refuses every marketing message,
/// whatever its own topic.
pub const MARKETING: &str = "marketing";

/// The opt-out a provider's refusal stands for, as the topic it covers (`None`: all):
/// WhatsApp 131050 (the person stopped marketing messages), Twilio 21610 (the number
/// replied STOP), and any refusal of any channel classified [`ErrorClass::OptedOut`]
/// (the class integrators' own channels are told to use), which covers everything since
/// nothing narrower is known. They arrive as send errors or failed delivery statuses, and
/// are recorded with source [`Source::Provider`] so the next send is refused locally.
///
/// [`ErrorClass::OptedOut`]: crate::ErrorClass::OptedOut
pub(crate) fn provider_opt_out(
    channel: &crate::ChannelKind,
    code: Option<i64>,
    class: Option<crate::ErrorClass>,
) -> Option<Option<&'static str>> {
    match (channel, code) {
        (crate::ChannelKind::WhatsApp, Some(131_050)) => Some(Some(MARKETING)),
        (crate::ChannelKind::Sms, Some(21_610)) => Some(None),
        _ => (class == Some(crate::ErrorClass::OptedOut)).then_some(None),
    }
}
