//! Interactive messages: reply buttons, lists, call-to-action URLs and flows.

use std::collections::HashSet;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use url::Url;

use super::messages::{MediaObject, validate_source};
use crate::error::{Problem, ValidationError};
use crate::http::validate::{check_count, check_max_chars, check_text};
use crate::model::message::MediaSource;

/// Most reply buttons in one message.
pub const MAX_REPLY_BUTTONS: usize = 3;
/// Most rows in a list message, over all sections.
pub const MAX_LIST_ROWS: usize = 10;
/// Most sections in a list message.
pub const MAX_LIST_SECTIONS: usize = 10;

/// An `interactive` message.
///
/// ```
/// use switchboard::whatsapp::{Interactive, ReplyButton};
///
/// let ask = Interactive::buttons(
///     "Would you like the newsletter?",
///     [ReplyButton::new("yes", "Yes please"), ReplyButton::new("no", "No thanks")],
/// )
/// .footer("You can change this any time");
/// # let _ = ask;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Interactive {
    header: Option<Header>,
    body: String,
    footer: Option<String>,
    action: Action,
}

/// What an interactive message offers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Up to 3 reply buttons.
    Buttons(Vec<ReplyButton>),
    /// A menu of up to 10 rows in up to 10 sections.
    List {
        /// Label of the button that opens the menu (up to 20 characters).
        button: String,
        /// The sections.
        sections: Vec<Section>,
    },
    /// A button that opens a URL.
    CtaUrl {
        /// The button label (up to 20 characters).
        display_text: String,
        /// Where it leads.
        url: Url,
    },
    /// A button that opens a WhatsApp Flow.
    Flow(Flow),
}

impl Interactive {
    fn new(body: impl Into<String>, action: Action) -> Self {
        Self {
            header: None,
            body: body.into(),
            footer: None,
            action,
        }
    }

    /// Reply buttons (at most 3, titles up to 20 characters and unique).
    pub fn buttons(body: impl Into<String>, buttons: impl IntoIterator<Item = ReplyButton>) -> Self {
        Self::new(body, Action::Buttons(buttons.into_iter().collect()))
    }

    /// A list menu opened by a button labelled `button`.
    pub fn list(
        body: impl Into<String>,
        button: impl Into<String>,
        sections: impl IntoIterator<Item = Section>,
    ) -> Self {
        Self::new(
            body,
            Action::List {
                button: button.into(),
                sections: sections.into_iter().collect(),
            },
        )
    }

    /// A call-to-action button that opens `url`.
    pub fn cta_url(body: impl Into<String>, display_text: impl Into<String>, url: Url) -> Self {
        Self::new(
            body,
            Action::CtaUrl {
                display_text: display_text.into(),
                url,
            },
        )
    }

    /// A button that opens a flow.
    pub fn flow(body: impl Into<String>, flow: Flow) -> Self {
        Self::new(body, Action::Flow(flow))
    }

    /// Sets the header (lists take only text headers).
    #[must_use]
    pub fn header(mut self, header: Header) -> Self {
        self.header = Some(header);
        self
    }

    /// Sets the footer (up to 60 characters).
    #[must_use]
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// The action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    fn type_name(&self) -> &'static str {
        match self.action {
            Action::Buttons(_) => "button",
            Action::List { .. } => "list",
            Action::CtaUrl { .. } => "cta_url",
            Action::Flow(_) => "flow",
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        let max_body = if matches!(self.action, Action::List { .. }) {
            4096
        } else {
            1024
        };
        check_text("interactive.body.text", &self.body, max_body)?;
        if let Some(footer) = &self.footer {
            check_text("interactive.footer.text", footer, 60)?;
        }
        match &self.header {
            Some(Header::Text(text)) => check_text("interactive.header.text", text, 60)?,
            Some(_) if matches!(self.action, Action::List { .. }) => {
                return Err(ValidationError::new(
                    "interactive.header",
                    Problem::Invalid("a list header can only be text".into()),
                ));
            }
            Some(Header::Image(s) | Header::Video(s) | Header::Document(s)) => {
                validate_source("interactive.header", s)?;
            }
            None => {}
        }
        match &self.action {
            Action::Buttons(buttons) => validate_buttons(buttons),
            Action::List { button, sections } => validate_list(button, sections),
            Action::CtaUrl { display_text, url } => {
                check_text("interactive.action.parameters.display_text", display_text, 20)?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ValidationError::new(
                        "interactive.action.parameters.url",
                        Problem::Invalid("must be an http(s) URL".into()),
                    ));
                }
                Ok(())
            }
            Action::Flow(flow) => flow.validate(),
        }
    }
}

fn validate_buttons(buttons: &[ReplyButton]) -> Result<(), ValidationError> {
    check_count("interactive.action.buttons", buttons.len(), MAX_REPLY_BUTTONS)?;
    let mut titles = HashSet::new();
    let mut ids = HashSet::new();
    for (i, b) in buttons.iter().enumerate() {
        check_text(&format!("interactive.action.buttons[{i}].reply.id"), &b.id, 256)?;
        check_text(
            &format!("interactive.action.buttons[{i}].reply.title"),
            &b.title,
            20,
        )?;
        if !ids.insert(b.id.as_str()) {
            return Err(ValidationError::new(
                format!("interactive.action.buttons[{i}].reply.id"),
                Problem::Duplicate(b.id.clone()),
            ));
        }
        if !titles.insert(b.title.as_str()) {
            return Err(ValidationError::new(
                format!("interactive.action.buttons[{i}].reply.title"),
                Problem::Duplicate(b.title.clone()),
            ));
        }
    }
    Ok(())
}

fn validate_list(button: &str, sections: &[Section]) -> Result<(), ValidationError> {
    check_text("interactive.action.button", button, 20)?;
    check_count("interactive.action.sections", sections.len(), MAX_LIST_SECTIONS)?;
    let total: usize = sections.iter().map(|s| s.rows.len()).sum();
    check_count("interactive.action.sections[].rows", total, MAX_LIST_ROWS)?;
    let mut ids = HashSet::new();
    for (i, section) in sections.iter().enumerate() {
        let path = format!("interactive.action.sections[{i}]");
        match &section.title {
            Some(title) => check_text(&format!("{path}.title"), title, 24)?,
            None if sections.len() > 1 => {
                return Err(ValidationError::new(format!("{path}.title"), Problem::Missing));
            }
            None => {}
        }
        check_count(&format!("{path}.rows"), section.rows.len(), MAX_LIST_ROWS)?;
        for (j, row) in section.rows.iter().enumerate() {
            check_text(&format!("{path}.rows[{j}].id"), &row.id, 200)?;
            check_text(&format!("{path}.rows[{j}].title"), &row.title, 24)?;
            if let Some(d) = &row.description {
                check_max_chars(&format!("{path}.rows[{j}].description"), d, 72)?;
            }
            if !ids.insert(row.id.as_str()) {
                return Err(ValidationError::new(
                    format!("{path}.rows[{j}].id"),
                    Problem::Duplicate(row.id.clone()),
                ));
            }
        }
    }
    Ok(())
}

impl Serialize for Interactive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct TextObj<'a> {
            text: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.type_name())?;
        if let Some(header) = &self.header {
            map.serialize_entry("header", header)?;
        }
        map.serialize_entry("body", &TextObj { text: &self.body })?;
        if let Some(footer) = &self.footer {
            map.serialize_entry("footer", &TextObj { text: footer })?;
        }
        map.serialize_entry("action", &WireAction(&self.action))?;
        map.end()
    }
}

struct WireAction<'a>(&'a Action);

impl Serialize for WireAction<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Reply<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            reply: &'a ReplyButton,
        }
        #[derive(Serialize)]
        struct CtaParams<'a> {
            display_text: &'a str,
            url: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        match self.0 {
            Action::Buttons(buttons) => {
                let buttons: Vec<_> = buttons
                    .iter()
                    .map(|reply| Reply { kind: "reply", reply })
                    .collect();
                map.serialize_entry("buttons", &buttons)?;
            }
            Action::List { button, sections } => {
                map.serialize_entry("button", button)?;
                map.serialize_entry("sections", sections)?;
            }
            Action::CtaUrl { display_text, url } => {
                map.serialize_entry("name", "cta_url")?;
                map.serialize_entry(
                    "parameters",
                    &CtaParams {
                        display_text,
                        url: url.as_str(),
                    },
                )?;
            }
            Action::Flow(flow) => {
                map.serialize_entry("name", "flow")?;
                map.serialize_entry("parameters", flow)?;
            }
        }
        map.end()
    }
}

/// The header of an interactive message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Header {
    /// Text (up to 60 characters).
    Text(String),
    /// An image.
    Image(MediaSource),
    /// A video.
    Video(MediaSource),
    /// A document.
    Document(MediaSource),
}

impl Header {
    /// A text header.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match self {
            Self::Text(text) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", text)?;
            }
            Self::Image(s) | Self::Video(s) | Self::Document(s) => {
                let kind = match self {
                    Self::Image(_) => "image",
                    Self::Video(_) => "video",
                    _ => "document",
                };
                map.serialize_entry("type", kind)?;
                map.serialize_entry(kind, &MediaObject::new(s))?;
            }
        }
        map.end()
    }
}

/// A reply button: its `id` comes back in the webhook when tapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyButton {
    id: String,
    title: String,
}

impl ReplyButton {
    /// A button with this id (up to 256 characters) and title (up to 20).
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
        }
    }
}

/// A section of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    rows: Vec<Row>,
}

impl Section {
    /// A section with these rows. A title is required when there are several sections.
    pub fn new(title: Option<String>, rows: impl IntoIterator<Item = Row>) -> Self {
        Self {
            title,
            rows: rows.into_iter().collect(),
        }
    }
}

/// A row of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    id: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl Row {
    /// A row with this id (up to 200 characters) and title (up to 24).
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            description: None,
        }
    }

    /// A description under the title (up to 72 characters).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The flow a flow message opens.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    target: FlowTarget,
    cta: String,
    token: Option<String>,
    mode: Option<FlowMode>,
    data_exchange: bool,
    screen: Option<String>,
    data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FlowTarget {
    Id(String),
    Name(String),
}

/// Whether the flow is a draft (for testing) or published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FlowMode {
    /// Draft flow, visible to testers.
    Draft,
    /// Published flow (the default).
    Published,
}

impl Flow {
    /// The flow with this id, opened by a button labelled `cta` (up to 30 characters,
    /// no emoji).
    pub fn by_id(flow_id: impl Into<String>, cta: impl Into<String>) -> Self {
        Self::new(FlowTarget::Id(flow_id.into()), cta.into())
    }

    /// The flow with this name.
    pub fn by_name(flow_name: impl Into<String>, cta: impl Into<String>) -> Self {
        Self::new(FlowTarget::Name(flow_name.into()), cta.into())
    }

    fn new(target: FlowTarget, cta: String) -> Self {
        Self {
            target,
            cta,
            token: None,
            mode: None,
            data_exchange: false,
            screen: None,
            data: None,
        }
    }

    /// A token that comes back with the flow's answers, to correlate them.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Draft or published.
    #[must_use]
    pub fn mode(mut self, mode: FlowMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Opens this screen first, with this initial data (`navigate` action).
    #[must_use]
    pub fn navigate(mut self, screen: impl Into<String>, data: Option<serde_json::Value>) -> Self {
        self.data_exchange = false;
        self.screen = Some(screen.into());
        self.data = data;
        self
    }

    /// Asks your flow endpoint for the first screen (`data_exchange` action).
    #[must_use]
    pub fn data_exchange(mut self) -> Self {
        self.data_exchange = true;
        self.screen = None;
        self.data = None;
        self
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let field = "interactive.action.parameters.flow_cta";
        check_text(field, &self.cta, 30)?;
        if self.cta.chars().any(is_emoji) {
            return Err(ValidationError::new(
                field,
                Problem::Invalid("must not contain emoji".into()),
            ));
        }
        match &self.target {
            FlowTarget::Id(id) => check_text("interactive.action.parameters.flow_id", id, usize::MAX),
            FlowTarget::Name(n) => check_text("interactive.action.parameters.flow_name", n, usize::MAX),
        }
    }
}

/// Pictographic ranges Meta refuses in flow buttons.
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F)
}

impl Serialize for Flow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Payload<'a> {
            screen: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            data: Option<&'a serde_json::Value>,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("flow_message_version", "3")?;
        match &self.target {
            FlowTarget::Id(id) => map.serialize_entry("flow_id", id)?,
            FlowTarget::Name(name) => map.serialize_entry("flow_name", name)?,
        }
        if let Some(token) = &self.token {
            map.serialize_entry("flow_token", token)?;
        }
        map.serialize_entry("flow_cta", &self.cta)?;
        if let Some(mode) = &self.mode {
            map.serialize_entry("mode", mode)?;
        }
        if self.data_exchange {
            map.serialize_entry("flow_action", "data_exchange")?;
        } else if let Some(screen) = &self.screen {
            map.serialize_entry("flow_action", "navigate")?;
            map.serialize_entry(
                "flow_action_payload",
                &Payload {
                    screen,
                    data: self.data.as_ref(),
                },
            )?;
        }
        map.end()
    }
}
