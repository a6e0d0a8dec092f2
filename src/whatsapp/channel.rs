//! The neutral [`Channel`] implementation of the WhatsApp [`Client`].

use async_trait::async_trait;

use super::client::Client;
use super::interactive::{Interactive, MAX_LIST_ROWS, MAX_REPLY_BUTTONS, ReplyButton, Row, Section};
use super::messages::{MessageContent, MessageRequest, Text};
use super::templates::{Parameter, Template};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, ErrorKind, RawBody, Result};
use crate::model::message::{Content, MediaKind, OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Label of the button that opens a list when more than three reply buttons are sent.
const LIST_BUTTON_LABEL: &str = "Choose";

/// Maps a neutral message to a WhatsApp request.
///
/// Reply buttons beyond WhatsApp's three become a list menu (up to ten rows), and beyond
/// that numbered text, so the choices are never dropped.
pub fn to_request(message: &OutboundMessage) -> Result<MessageRequest> {
    let content: MessageContent = match &message.content {
        Content::Text(body) => Text::new(body.clone()).into(),
        Content::Media(media) => media.clone().into(),
        Content::Location(location) => location.clone().into(),
        Content::Buttons(buttons) => {
            let interactive = match buttons.buttons.len() {
                n if n <= MAX_REPLY_BUTTONS => Some(Interactive::buttons(
                    buttons.text.clone(),
                    buttons
                        .buttons
                        .iter()
                        .map(|b| ReplyButton::new(b.id.clone(), b.title.clone())),
                )),
                n if n <= MAX_LIST_ROWS => Some(Interactive::list(
                    buttons.text.clone(),
                    LIST_BUTTON_LABEL,
                    [Section::new(
                        None,
                        buttons
                            .buttons
                            .iter()
                            .map(|b| Row::new(b.id.clone(), b.title.clone())),
                    )],
                )),
                _ => None,
            };
            match interactive {
                Some(i) => match &buttons.footer {
                    Some(footer) => i.footer(footer.clone()).into(),
                    None => i.into(),
                },
                None => Text::new(buttons.to_numbered_text()).into(),
            }
        }
        Content::Template(t) => {
            let params = t.params.iter().map(|p| match &p.name {
                Some(name) => Parameter::named(name.clone(), p.value.clone()),
                None => Parameter::text(p.value.clone()),
            });
            let template = Template::new(t.name.clone(), t.language.clone());
            if t.params.is_empty() {
                template
            } else {
                template.body(params)
            }
            .into()
        }
        Content::Reaction(r) => r.clone().into(),
    };
    let mut request = MessageRequest::new(message.to.clone(), content);
    if let Some(id) = &message.reply_to {
        request = request.reply_to(id.clone());
    }
    if let Some(tracking) = &message.tracking {
        request = request.biz_opaque_callback_data(tracking.clone());
    }
    Ok(request)
}

#[async_trait]
impl Channel for Client {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WhatsApp
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_text(super::messages::MAX_TEXT_CHARS)
            .with_media([
                MediaKind::Image,
                MediaKind::Video,
                MediaKind::Audio,
                MediaKind::Document,
                MediaKind::Sticker,
            ])
            .with_location()
            .with_reply_buttons(MAX_REPLY_BUTTONS)
            .with_templates()
            .with_reactions()
            .with_reply_context()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        let response = self.send_request(&to_request(message)?).await?;
        let Some(id) = response.message_id() else {
            return Err(Error::new(ErrorKind::Decode {
                path: "messages[0].id".into(),
                body: RawBody::default(),
            }));
        };
        let mut receipt = SendReceipt::new(ChannelKind::WhatsApp, id);
        if let Some(contact) = response.contacts.first()
            && let Some(who) = contact.wa_id.as_ref().or(contact.user_id.as_ref())
        {
            receipt = receipt.with_provider_recipient(who.clone());
        }
        Ok(receipt)
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.webhook().handle(request)
    }
}
