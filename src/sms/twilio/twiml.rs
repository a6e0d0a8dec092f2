//! A small TwiML `MessagingResponse` builder, for answering an inbound message in the
//! webhook's HTTP response.
//!
//! ```
//! use switchboard::sms::twilio::twiml::MessagingResponse;
//!
//! let reply = MessagingResponse::new().message("Danke! Antworte STOP zum Abmelden.");
//! assert_eq!(
//!     reply.to_xml(),
//!     r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Danke! Antworte STOP zum Abmelden.</Message></Response>"#
//! );
//! ```

use url::Url;

/// The TwiML content type to answer with.
pub const CONTENT_TYPE: &str = "text/xml";

/// A `<Response>` with zero or more `<Message>`s. An empty one acknowledges without
/// replying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagingResponse {
    messages: Vec<TwimlMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TwimlMessage {
    body: String,
    media: Vec<Url>,
}

impl MessagingResponse {
    /// An empty response: no reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replies with a text.
    #[must_use]
    pub fn message(self, body: impl Into<String>) -> Self {
        self.message_with_media(body, [])
    }

    /// Replies with a text and media (MMS).
    #[must_use]
    pub fn message_with_media(
        mut self,
        body: impl Into<String>,
        media: impl IntoIterator<Item = Url>,
    ) -> Self {
        self.messages.push(TwimlMessage {
            body: body.into(),
            media: media.into_iter().collect(),
        });
        self
    }

    /// The XML document, with the text escaped.
    pub fn to_xml(&self) -> String {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        for m in &self.messages {
            xml.push_str("<Message>");
            if m.media.is_empty() {
                escape_into(&mut xml, &m.body);
            } else {
                xml.push_str("<Body>");
                escape_into(&mut xml, &m.body);
                xml.push_str("</Body>");
                for url in &m.media {
                    xml.push_str("<Media>");
                    escape_into(&mut xml, url.as_str());
                    xml.push_str("</Media>");
                }
            }
            xml.push_str("</Message>");
        }
        xml.push_str("</Response>");
        xml
    }

    /// As an HTTP response with the TwiML content type.
    pub fn into_response(self) -> http::Response<bytes::Bytes> {
        let mut response = http::Response::new(bytes::Bytes::from(self.to_xml()));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(CONTENT_TYPE),
        );
        response
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and line breaks are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_media() {
        assert_eq!(
            MessagingResponse::new().to_xml(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
        );
        let xml = MessagingResponse::new()
            .message_with_media(
                "Tom & <Jerry>\u{7}",
                [Url::parse("https://e.com/a.png?x=1&y=2").unwrap()],
            )
            .to_xml();
        assert!(xml.contains("<Message><Body>Tom &amp; &lt;Jerry&gt;</Body><Media>https://e.com/a.png?x=1&amp;y=2</Media></Message>"));
        let response = MessagingResponse::new().message("ok").into_response();
        assert_eq!(response.headers()["content-type"], "text/xml");
    }
}
