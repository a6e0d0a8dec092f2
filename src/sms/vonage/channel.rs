//! The [`Channel`] implementation of the Vonage client.

use async_trait::async_trait;

use super::{Client, Sms};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, Problem, Result, ValidationError};
use crate::model::address::Address;
use crate::model::message::{Content, OutboundMessage, SendReceipt};
use crate::sms::segments;
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

#[async_trait]
impl Channel for Client {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_text(crate::sms::twilio::MAX_BODY_CHARS)
    }

    /// Text as is and reply buttons as "Reply N for …" options; media, templates and
    /// reactions have no Vonage SMS form and are refused.
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        let unsupported = |what: &'static str| Error::unsupported(ChannelKind::Sms, what);
        let Address::Phone(to) = &message.to else {
            return Err(unsupported("an address without a phone number"));
        };
        let text = match &message.content {
            Content::Text(text) => text.clone(),
            Content::Buttons(buttons) => crate::sms::reply_options(buttons),
            Content::Media(_) => return Err(unsupported("media (Vonage's SMS API has no MMS)")),
            Content::Location(_) | Content::Template(_) | Content::Reaction(_) => {
                return Err(unsupported("this content on Vonage SMS"));
            }
        };
        let from = message
            .sender
            .clone()
            .or_else(|| self.default_from().map(str::to_owned))
            .ok_or_else(|| Error::from(ValidationError::new("from", Problem::Missing)))?;
        let mut sms = Sms::new(to.clone(), from, text.clone());
        if let Some(tracking) = &message.tracking {
            sms = sms.client_ref(tracking.clone());
        }
        let sent = self.send_sms(&sms).await?;
        let id = sent
            .messages
            .first()
            .and_then(|p| p.message_id.clone())
            .unwrap_or_default();
        Ok(SendReceipt::new(ChannelKind::Sms, id).with_segments(segments::analyze(&text).segments))
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.webhook().handle(request)
    }
}
