//! The neutral [`Channel`] implementation of the X [`Client`].

use async_trait::async_trait;

use super::client::Client;
use super::dm::{MAX_TEXT_CHARS, NewMessage};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, Result};
use crate::model::address::Address;
use crate::model::message::{Content, MediaKind, MediaSource, OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Maps a neutral message to a DM. The recipient must be an X user id. Text goes as is;
/// media must already be uploaded ([`Client::upload_media`]) and is sent by its id with the
/// caption as text; reply buttons become numbered text, since v2 DMs have none; a location
/// becomes its name, address and a map link. Templates and reactions have no DM form.
pub fn to_message(message: &OutboundMessage) -> Result<(String, NewMessage)> {
    let unsupported = |what: &'static str| Error::unsupported(ChannelKind::Twitter, what);
    let participant = match &message.to {
        Address::User(id) => id.as_str().to_owned(),
        Address::Phone(_) => return Err(unsupported("phone numbers (X addresses people by user id)")),
    };
    let dm = match &message.content {
        Content::Text(text) => NewMessage::text(text.clone()),
        Content::Media(media) => {
            let MediaSource::ProviderId(id) = &media.source else {
                return Err(unsupported(
                    "media by URL (upload it with Client::upload_media first)",
                ));
            };
            match &media.caption {
                Some(caption) => NewMessage::text(caption.clone()).with_media(id.clone()),
                None => NewMessage::media(id.clone()),
            }
        }
        Content::Buttons(buttons) => NewMessage::text(buttons.to_numbered_text()),
        Content::Location(location) => NewMessage::text(location.to_text()),
        Content::Template(_) => return Err(unsupported("templates")),
        Content::Reaction(_) => return Err(unsupported("reactions")),
    };
    Ok((participant, dm))
}

#[async_trait]
impl Channel for Client {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Twitter
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_text(MAX_TEXT_CHARS)
            .with_media([MediaKind::Image, MediaKind::Video])
            .with_location()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        let (participant, dm) = to_message(message)?;
        let sent = self.send_to_participant(&participant, &dm).await?;
        Ok(
            SendReceipt::new(ChannelKind::Twitter, sent.data.dm_event_id)
                .with_provider_recipient(participant),
        )
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.webhook().ok_or(WebhookError::NotConfigured)?.handle(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::{Button, Buttons, Media};

    #[test]
    fn neutral_content_maps_to_dms() {
        let to = Address::user("9876543210").unwrap();
        let json = |m: OutboundMessage| serde_json::to_value(to_message(&m).unwrap().1).unwrap();
        assert_eq!(
            json(OutboundMessage::text(to.clone(), "Hi")),
            serde_json::json!({"text": "Hi"})
        );
        let ask = Buttons::new("Which one?", [Button::new("a", "Red"), Button::new("b", "Blue")]);
        assert_eq!(
            json(OutboundMessage::new(to.clone(), Content::Buttons(ask))),
            serde_json::json!({"text": "Which one?\n\n1. Red\n2. Blue"})
        );
        let image =
            Media::image(MediaSource::ProviderId("1583157113245011970".into())).caption("Your receipt");
        assert_eq!(
            json(OutboundMessage::new(to.clone(), Content::Media(image))),
            serde_json::json!({"text": "Your receipt", "attachments": [{"media_id": "1583157113245011970"}]})
        );
        let phone = OutboundMessage::text(Address::phone("+4917612345678").unwrap(), "Hi");
        assert!(matches!(
            to_message(&phone).unwrap_err().kind(),
            crate::ErrorKind::Unsupported { .. }
        ));
    }
}
