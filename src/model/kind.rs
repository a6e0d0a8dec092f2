//! Which channel something belongs to. Imports nothing from the crate, so that the error
//! type and every model can name a channel without a loop.

use std::borrow::Cow;
use std::fmt;

/// Which kind of channel a [`Channel`](crate::Channel) is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelKind {
    /// WhatsApp Cloud API.
    WhatsApp,
    /// SMS (Twilio, Vonage…).
    Sms,
    /// X (Twitter) Direct Messages.
    Twitter,
    /// An integrator's own channel, named by them (`telegram`).
    Custom(Cow<'static, str>),
}

impl ChannelKind {
    /// A custom channel kind.
    pub fn custom(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Custom(name.into())
    }

    /// The lower-case name (`whatsapp`, `sms`, `twitter`, or the custom name).
    pub fn as_str(&self) -> &str {
        match self {
            Self::WhatsApp => "whatsapp",
            Self::Sms => "sms",
            Self::Twitter => "twitter",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
