//! Template messages: the only messages allowed outside the 24-hour customer-service
//! window, and the ones Meta charges for.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::messages::{MediaObject, validate_location, validate_source};
use crate::error::{Problem, ValidationError};
use crate::http::validate::{check_count, check_text};
use crate::model::message::{Location, MediaSource};

/// A template message: an approved template by name and language, with its parameters.
///
/// ```
/// use switchboard::whatsapp::{Parameter, Template, TemplateButton};
///
/// // Named parameters (templates created with `parameter_format: NAMED`).
/// let confirmation = Template::new("reservation_confirmation", "en_US")
///     .body([Parameter::named("number_of_guests", "4"), Parameter::named("day", "Saturday")]);
///
/// // Positional parameters, currency, and a quick-reply button.
/// let offer = Template::new("spring_offer", "de")
///     .body([Parameter::text("Anna"), Parameter::currency("€9,99", "EUR", 9_990)])
///     .button(TemplateButton::quick_reply(0, "unsubscribe"));
/// # let _ = (confirmation, offer);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    name: String,
    language: String,
    components: Vec<Component>,
}

/// A part of a template that takes parameters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Component {
    /// The header's parameter (text, media or location).
    Header(Vec<Parameter>),
    /// The body's parameters.
    Body(Vec<Parameter>),
    /// A button's parameter.
    Button(TemplateButton),
}

impl Template {
    /// The template `name` in `language` (`en_US`, `de`).
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            components: Vec::new(),
        }
    }

    /// Sets the header parameters.
    #[must_use]
    pub fn header(self, parameters: impl IntoIterator<Item = Parameter>) -> Self {
        self.component(Component::Header(parameters.into_iter().collect()))
    }

    /// Sets the body parameters.
    #[must_use]
    pub fn body(self, parameters: impl IntoIterator<Item = Parameter>) -> Self {
        self.component(Component::Body(parameters.into_iter().collect()))
    }

    /// Adds a button parameter.
    #[must_use]
    pub fn button(self, button: TemplateButton) -> Self {
        self.component(Component::Button(button))
    }

    /// Adds a component.
    #[must_use]
    pub fn component(mut self, component: Component) -> Self {
        self.components.push(component);
        self
    }

    /// The template name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        check_text("template.name", &self.name, 512)?;
        if !self
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ValidationError::new(
                "template.name",
                Problem::Invalid("only lower-case letters, digits and _".into()),
            ));
        }
        check_text("template.language.code", &self.language, 16)?;
        let mut seen_header = false;
        let mut seen_body = false;
        let mut button_indexes = Vec::new();
        for (i, component) in self.components.iter().enumerate() {
            let path = format!("template.components[{i}]");
            match component {
                Component::Header(params) => {
                    if std::mem::replace(&mut seen_header, true) {
                        return Err(ValidationError::new(path, Problem::Duplicate("header".into())));
                    }
                    check_count(&format!("{path}.parameters"), params.len(), 1)?;
                    validate_params(&path, params)?;
                }
                Component::Body(params) => {
                    if std::mem::replace(&mut seen_body, true) {
                        return Err(ValidationError::new(path, Problem::Duplicate("body".into())));
                    }
                    validate_params(&path, params)?;
                    let named = params.iter().filter(|p| p.name().is_some()).count();
                    if named != 0 && named != params.len() {
                        return Err(ValidationError::new(
                            format!("{path}.parameters"),
                            Problem::Invalid("use either named or positional parameters, not both".into()),
                        ));
                    }
                }
                Component::Button(button) => {
                    if button_indexes.contains(&button.index) {
                        return Err(ValidationError::new(
                            format!("{path}.index"),
                            Problem::Duplicate(button.index.to_string()),
                        ));
                    }
                    button_indexes.push(button.index);
                    button.validate(&path)?;
                }
            }
        }
        Ok(())
    }
}

fn validate_params(path: &str, params: &[Parameter]) -> Result<(), ValidationError> {
    for (j, p) in params.iter().enumerate() {
        let field = format!("{path}.parameters[{j}]");
        match p {
            Parameter::Text { text, .. } => check_text(&format!("{field}.text"), text, 32_768)?,
            Parameter::Currency {
                fallback_value, code, ..
            } => {
                check_text(
                    &format!("{field}.currency.fallback_value"),
                    fallback_value,
                    usize::MAX,
                )?;
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(ValidationError::new(
                        format!("{field}.currency.code"),
                        Problem::Invalid("must be an ISO 4217 code such as USD".into()),
                    ));
                }
            }
            Parameter::DateTime { fallback_value, .. } => {
                check_text(
                    &format!("{field}.date_time.fallback_value"),
                    fallback_value,
                    usize::MAX,
                )?;
            }
            Parameter::Image(s) | Parameter::Video(s) | Parameter::Document { source: s, .. } => {
                validate_source(&field, s)?;
            }
            Parameter::Location(l) => validate_location(&format!("{field}.location"), l)?,
        }
    }
    Ok(())
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Language<'a> {
            code: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("language", &Language { code: &self.language })?;
        if !self.components.is_empty() {
            map.serialize_entry("components", &self.components)?;
        }
        map.end()
    }
}

impl Serialize for Component {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::Header(params) => {
                map.serialize_entry("type", "header")?;
                map.serialize_entry("parameters", params)?;
            }
            Self::Body(params) => {
                map.serialize_entry("type", "body")?;
                map.serialize_entry("parameters", params)?;
            }
            Self::Button(button) => {
                map.serialize_entry("type", "button")?;
                map.serialize_entry("sub_type", button.sub_type.as_str())?;
                map.serialize_entry("index", &button.index.to_string())?;
                map.serialize_entry("parameters", &[&button.parameter])?;
            }
        }
        map.end()
    }
}

/// A header or body parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Parameter {
    /// Text; `name` is set for templates with named parameters.
    Text {
        /// The parameter name (`first_name`), for named templates.
        name: Option<String>,
        /// The value.
        text: String,
    },
    /// An amount of money, localised by WhatsApp.
    Currency {
        /// The parameter name, for named templates.
        name: Option<String>,
        /// Text shown if localisation fails (`$100.99`).
        fallback_value: String,
        /// ISO 4217 code.
        code: String,
        /// The amount times 1,000 (`100990` for 100.99).
        amount_1000: i64,
    },
    /// A date and time, shown as `fallback_value`.
    DateTime {
        /// The parameter name, for named templates.
        name: Option<String>,
        /// The text shown.
        fallback_value: String,
    },
    /// An image header.
    Image(MediaSource),
    /// A video header.
    Video(MediaSource),
    /// A document header.
    Document {
        /// The document.
        source: MediaSource,
        /// The file name shown.
        filename: Option<String>,
    },
    /// A location header.
    Location(Location),
}

impl Parameter {
    /// A positional text parameter.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            name: None,
            text: text.into(),
        }
    }

    /// A named text parameter (`parameter_name`).
    pub fn named(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self::Text {
            name: Some(name.into()),
            text: text.into(),
        }
    }

    /// A positional currency parameter.
    pub fn currency(fallback_value: impl Into<String>, code: impl Into<String>, amount_1000: i64) -> Self {
        Self::Currency {
            name: None,
            fallback_value: fallback_value.into(),
            code: code.into(),
            amount_1000,
        }
    }

    /// A positional date-time parameter.
    pub fn date_time(fallback_value: impl Into<String>) -> Self {
        Self::DateTime {
            name: None,
            fallback_value: fallback_value.into(),
        }
    }

    /// Gives a currency or date-time parameter a name, for named templates.
    #[must_use]
    pub fn with_name(mut self, parameter_name: impl Into<String>) -> Self {
        if let Self::Text { name, .. } | Self::Currency { name, .. } | Self::DateTime { name, .. } = &mut self
        {
            *name = Some(parameter_name.into());
        }
        self
    }

    fn name(&self) -> Option<&str> {
        match self {
            Self::Text { name, .. } | Self::Currency { name, .. } | Self::DateTime { name, .. } => {
                name.as_deref()
            }
            _ => None,
        }
    }
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Currency<'a> {
            fallback_value: &'a str,
            code: &'a str,
            amount_1000: i64,
        }
        #[derive(Serialize)]
        struct DateTime<'a> {
            fallback_value: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::Text { text, .. } => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", text)?;
            }
            Self::Currency {
                fallback_value,
                code,
                amount_1000,
                ..
            } => {
                map.serialize_entry("type", "currency")?;
                map.serialize_entry(
                    "currency",
                    &Currency {
                        fallback_value,
                        code,
                        amount_1000: *amount_1000,
                    },
                )?;
            }
            Self::DateTime { fallback_value, .. } => {
                map.serialize_entry("type", "date_time")?;
                map.serialize_entry("date_time", &DateTime { fallback_value })?;
            }
            Self::Image(s) => {
                map.serialize_entry("type", "image")?;
                map.serialize_entry("image", &MediaObject::new(s))?;
            }
            Self::Video(s) => {
                map.serialize_entry("type", "video")?;
                map.serialize_entry("video", &MediaObject::new(s))?;
            }
            Self::Document { source, filename } => {
                map.serialize_entry("type", "document")?;
                map.serialize_entry(
                    "document",
                    &MediaObject::new(source).with_filename(filename.as_deref()),
                )?;
            }
            Self::Location(l) => {
                map.serialize_entry("type", "location")?;
                map.serialize_entry("location", l)?;
            }
        }
        if let Some(name) = self.name() {
            map.serialize_entry("parameter_name", name)?;
        }
        map.end()
    }
}

/// A parameter for one of the template's buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateButton {
    sub_type: ButtonType,
    index: u8,
    parameter: ButtonParameter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ButtonType {
    QuickReply,
    Url,
    CopyCode,
    Flow,
}

impl ButtonType {
    fn as_str(self) -> &'static str {
        match self {
            Self::QuickReply => "quick_reply",
            Self::Url => "url",
            Self::CopyCode => "copy_code",
            Self::Flow => "flow",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ButtonParameter {
    Payload(String),
    Text(String),
    CouponCode(String),
    Action {
        flow_token: Option<String>,
        data: Option<serde_json::Value>,
    },
}

impl TemplateButton {
    /// The payload returned when the quick-reply button at `index` is tapped.
    pub fn quick_reply(index: u8, payload: impl Into<String>) -> Self {
        Self::new(
            ButtonType::QuickReply,
            index,
            ButtonParameter::Payload(payload.into()),
        )
    }

    /// The variable suffix of the dynamic URL button at `index` (also the one-time code of
    /// an authentication template's copy-code button).
    pub fn url(index: u8, suffix: impl Into<String>) -> Self {
        Self::new(ButtonType::Url, index, ButtonParameter::Text(suffix.into()))
    }

    /// The coupon code copied by the copy-code button at `index` (up to 15 characters).
    pub fn copy_code(index: u8, code: impl Into<String>) -> Self {
        Self::new(
            ButtonType::CopyCode,
            index,
            ButtonParameter::CouponCode(code.into()),
        )
    }

    /// The flow token and initial data of the flow button at `index`.
    pub fn flow(index: u8, flow_token: Option<String>, data: Option<serde_json::Value>) -> Self {
        Self::new(
            ButtonType::Flow,
            index,
            ButtonParameter::Action { flow_token, data },
        )
    }

    fn new(sub_type: ButtonType, index: u8, parameter: ButtonParameter) -> Self {
        Self {
            sub_type,
            index,
            parameter,
        }
    }

    fn validate(&self, path: &str) -> Result<(), ValidationError> {
        if self.index > 9 {
            return Err(ValidationError::new(
                format!("{path}.index"),
                Problem::Invalid("must be 0 to 9".into()),
            ));
        }
        let field = format!("{path}.parameters[0]");
        match &self.parameter {
            ButtonParameter::Payload(p) => check_text(&format!("{field}.payload"), p, 256),
            ButtonParameter::Text(t) => check_text(&format!("{field}.text"), t, 2000),
            ButtonParameter::CouponCode(c) => check_text(&format!("{field}.coupon_code"), c, 15),
            ButtonParameter::Action { .. } => Ok(()),
        }
    }
}

impl Serialize for ButtonParameter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Action<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            flow_token: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            flow_action_data: Option<&'a serde_json::Value>,
        }
        let mut map = serializer.serialize_map(Some(2))?;
        match self {
            Self::Payload(p) => {
                map.serialize_entry("type", "payload")?;
                map.serialize_entry("payload", p)?;
            }
            Self::Text(t) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", t)?;
            }
            Self::CouponCode(c) => {
                map.serialize_entry("type", "coupon_code")?;
                map.serialize_entry("coupon_code", c)?;
            }
            Self::Action { flow_token, data } => {
                map.serialize_entry("type", "action")?;
                map.serialize_entry(
                    "action",
                    &Action {
                        flow_token: flow_token.as_deref(),
                        flow_action_data: data.as_ref(),
                    },
                )?;
            }
        }
        map.end()
    }
}
