//! What the provider clients share to talk HTTP: the [`Transport`] they send through, the
//! pure [`RetryPolicy`], and (inside the crate) the executor that applies timeouts, retries
//! and a tracing span, multipart bodies, lenient number parsing and shared validation.
//!
//! Ground floor: it imports only [`error`](crate::error).

#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
pub(crate) mod executor;
#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
pub(crate) mod loose;
#[cfg(any(feature = "whatsapp", feature = "twitter"))]
pub(crate) mod multipart;
pub mod retry;
pub mod transport;
#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
pub(crate) mod validate;

pub use retry::{RetryDecision, RetryPolicy, parse_retry_after};
#[cfg(feature = "reqwest")]
pub use transport::ReqwestTransport;
pub use transport::{BodyStream, Transport};
