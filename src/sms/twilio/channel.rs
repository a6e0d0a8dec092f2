//! The neutral [`Channel`] implementation of the Twilio [`Client`].

use async_trait::async_trait;

use super::client::{Client, MAX_BODY_CHARS, SendMessage};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, Result};
use crate::model::address::Address;
use crate::model::message::{Content, MediaKind, MediaSource, OutboundMessage, SendReceipt};
use crate::sms::segments;
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Maps a neutral message to a Twilio request. `default_sender` is used when the message
/// names none; a sender starting with `MG` is a Messaging Service.
///
/// Text goes as is; media by URL becomes MMS (a caption becomes the body); reply buttons
/// become numbered options ("Reply 1 for Yes"); a location becomes its name, address and a
/// map link; a template is a Content template (`name` is its `HX…` SID, parameters become
/// `ContentVariables` by position or name). Reactions and provider media ids have no SMS
/// form and are refused. SMS has no quoting and no echoed tracking data, so `reply_to` and
/// `tracking` do not travel.
pub fn to_request(message: &OutboundMessage, default_sender: Option<&str>) -> Result<SendMessage> {
    let unsupported = |what: &'static str| Error::unsupported(ChannelKind::Sms, what);
    let to = match &message.to {
        Address::Phone(p) => p.as_str(),
        Address::User(_) => return Err(unsupported("an address without a phone number")),
    };
    let mut request = SendMessage::to(to);
    match message.sender.as_deref().or(default_sender) {
        Some(sid) if sid.starts_with("MG") => request = request.messaging_service(sid),
        Some(from) => request = request.from(from),
        None => {}
    }
    let request = match &message.content {
        Content::Text(body) => request.body(body.clone()),
        Content::Media(media) => {
            let MediaSource::Url(url) = &media.source else {
                return Err(unsupported("media by provider id (SMS needs a public URL)"));
            };
            let request = request.media_url(url.clone());
            match &media.caption {
                Some(caption) => request.body(caption.clone()),
                None => request,
            }
        }
        Content::Location(l) => request.body(l.to_text()),
        Content::Buttons(buttons) => request.body(crate::sms::reply_options(buttons)),
        Content::Template(t) => {
            let variables = (!t.params.is_empty()).then(|| {
                let map: serde_json::Map<String, serde_json::Value> = t
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        (
                            p.name.clone().unwrap_or_else(|| (i + 1).to_string()),
                            p.value.clone().into(),
                        )
                    })
                    .collect();
                serde_json::Value::Object(map)
            });
            request.content(t.name.clone(), variables)
        }
        Content::Reaction(_) => return Err(unsupported("reactions")),
    };
    Ok(request)
}

#[async_trait]
impl Channel for Client {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_text(MAX_BODY_CHARS)
            .with_media([
                MediaKind::Image,
                MediaKind::Video,
                MediaKind::Audio,
                MediaKind::Document,
            ])
            .with_templates()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        let request = to_request(message, self.default_sender())?;
        let sent = self.send_message(&request).await?;
        let mut receipt = SendReceipt::new(ChannelKind::Sms, sent.sid);
        // Twilio reports 0 segments until a Messaging Service has chosen the sender; the
        // local analysis is exact for the text sent.
        let segments = match (sent.num_segments, request_body(message)) {
            (Some(n), _) if n > 0 => Some(n as usize),
            (_, Some(body)) => Some(segments::analyze(&body).segments),
            _ => None,
        };
        if let Some(n) = segments {
            receipt = receipt.with_segments(n);
        }
        Ok(receipt)
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.webhook().handle(request)
    }
}

/// The text a neutral message is sent as, for the segment count.
fn request_body(message: &OutboundMessage) -> Option<String> {
    match &message.content {
        Content::Text(body) => Some(body.clone()),
        Content::Buttons(b) => Some(crate::sms::reply_options(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::{Button, Buttons, Location, Media, Template};
    use url::Url;

    fn to() -> Address {
        Address::phone("+4917612345678").unwrap()
    }

    #[test]
    fn neutral_content_maps_to_twilio_forms() {
        let form = |m: OutboundMessage| to_request(&m, Some("+4915112345678")).unwrap().to_form();
        assert!(form(OutboundMessage::text(to(), "Hi")).contains("From=%2B4915112345678&Body=Hi"));
        let buttons = Buttons::new("Newsletter?", [Button::new("y", "Yes"), Button::new("n", "No")]);
        assert!(
            form(OutboundMessage::new(to(), Content::Buttons(buttons)))
                .contains("Reply+1+for+Yes%0AReply+2+for+No")
        );
        let photo =
            Media::image(MediaSource::Url(Url::parse("https://example.com/a.png").unwrap())).caption("Look");
        assert!(form(OutboundMessage::new(to(), Content::Media(photo))).contains("Body=Look&MediaUrl="));
        let pin = Location::new(52.52, 13.405).name("Brandenburger Tor");
        assert!(form(OutboundMessage::new(to(), Content::Location(pin))).contains("openstreetmap"));
        let template = Template::new("HXabc", "de").param("Anna");
        assert!(
            form(OutboundMessage::new(to(), Content::Template(template)))
                .contains("ContentVariables=%7B%221%22%3A%22Anna%22%7D")
        );
        let via_service = OutboundMessage::text(to(), "Hi").sender("MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assert!(form(via_service).contains("MessagingServiceSid=MG"));
    }

    #[test]
    fn what_sms_cannot_carry_is_refused() {
        let unsupported = |m: OutboundMessage| {
            matches!(
                to_request(&m, None).unwrap_err().kind(),
                crate::ErrorKind::Unsupported { .. }
            )
        };
        let by_id = Media::image(MediaSource::ProviderId("123".into()));
        assert!(unsupported(OutboundMessage::new(to(), Content::Media(by_id))));
        assert!(unsupported(OutboundMessage::new(
            to(),
            Content::Reaction(crate::Reaction::new("SM1", "👍"))
        )));
        assert!(unsupported(OutboundMessage::text(
            Address::user("US.1").unwrap(),
            "hi"
        )));
    }
}
