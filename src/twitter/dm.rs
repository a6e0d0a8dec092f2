//! Direct Message requests and answers: [`NewMessage`], [`DmEvent`], [`EventQuery`] and the
//! pages it returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::errors::PartialError;
use crate::error::{Problem, RateLimits, ValidationError};
use crate::http::validate::check_max_chars;

/// The longest DM text X accepts.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most participants of a new group conversation (besides the sender).
pub const MAX_GROUP_PARTICIPANTS: usize = 49;

/// A DM to send: text, one media attachment, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Attachment {
    media_id: String,
}

impl NewMessage {
    /// A text message (up to 10,000 characters).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            attachments: Vec::new(),
        }
    }

    /// A message with only this media (uploaded as `dm_*` by the same user, within 24 h).
    pub fn media(media_id: impl Into<String>) -> Self {
        Self {
            text: None,
            attachments: vec![Attachment {
                media_id: media_id.into(),
            }],
        }
    }

    /// Attaches media; X allows one attachment per message.
    #[must_use]
    pub fn with_media(mut self, media_id: impl Into<String>) -> Self {
        self.attachments.push(Attachment {
            media_id: media_id.into(),
        });
        self
    }

    /// Checks X's rules: text or an attachment, text up to 10,000 characters, at most one
    /// attachment with a numeric media id.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match &self.text {
            Some(text) if text.is_empty() => return Err(ValidationError::new("text", Problem::Empty)),
            Some(text) => check_max_chars("text", text, MAX_TEXT_CHARS)?,
            None if self.attachments.is_empty() => {
                return Err(ValidationError::new(
                    "text",
                    Problem::Invalid("a DM needs text or an attachment".into()),
                ));
            }
            None => {}
        }
        if self.attachments.len() > 1 {
            return Err(ValidationError::new(
                "attachments",
                Problem::TooMany {
                    max: 1,
                    actual: self.attachments.len(),
                },
            ));
        }
        for attachment in &self.attachments {
            check_id("attachments.media_id", &attachment.media_id)?;
        }
        Ok(())
    }
}

/// Checks an X id: 1 to 19 digits.
pub(crate) fn check_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
    if (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            Problem::Invalid("must be 1 to 19 digits".into()),
        ))
    }
}

/// Checks a conversation id: `{id}-{id}` for one-to-one, 15 to 19 digits for groups.
pub(crate) fn check_conversation_id(id: &str) -> Result<(), ValidationError> {
    let valid = match id.split_once('-') {
        Some((a, b)) => {
            check_id("dm_conversation_id", a).is_ok() && check_id("dm_conversation_id", b).is_ok()
        }
        None => (15..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
    };
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new(
            "dm_conversation_id",
            Problem::Invalid("must be `{user id}-{user id}` or a group id of 15 to 19 digits".into()),
        ))
    }
}

/// What X answered to a send: the conversation and the new event's id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DmSent {
    /// The conversation (`{smaller id}-{larger id}` for one-to-one).
    pub dm_conversation_id: String,
    /// The new message event.
    pub dm_event_id: String,
}

/// An X answer: the data, the quotas from its headers, and any partial errors X reported
/// next to the data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response<T> {
    /// The answer.
    pub data: T,
    /// The quotas reported with it.
    pub rate_limits: RateLimits,
    /// Problems X reported alongside the data (a field it could not fill, say).
    pub partial_errors: Vec<PartialError>,
}

/// The kind of a DM event. Kinds this version does not know are kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DmEventKind {
    /// A message.
    MessageCreate,
    /// People joined a group.
    ParticipantsJoin,
    /// People left a group.
    ParticipantsLeave,
    /// Another kind, as X named it.
    Unknown(String),
}

impl<'de> Deserialize<'de> for DmEventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.as_str() {
            "MessageCreate" => Self::MessageCreate,
            "ParticipantsJoin" => Self::ParticipantsJoin,
            "ParticipantsLeave" => Self::ParticipantsLeave,
            _ => Self::Unknown(name),
        })
    }
}

/// A DM event from the lookup endpoints. Fields X adds later are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DmEvent {
    /// The event id.
    pub id: String,
    /// What happened.
    pub event_type: DmEventKind,
    /// The message text.
    #[serde(default)]
    pub text: Option<String>,
    /// Who sent it.
    #[serde(default)]
    pub sender_id: Option<String>,
    /// The conversation.
    #[serde(default)]
    pub dm_conversation_id: Option<String>,
    /// When (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Attached media (keys into `includes.media`) and cards.
    #[serde(default)]
    pub attachments: Option<EventAttachments>,
    /// Posts shared in the message (`referenced_posts` in newer specs).
    #[serde(default, alias = "referenced_posts")]
    pub referenced_tweets: Vec<ReferencedPost>,
    /// Who joined or left (join and leave events).
    #[serde(default)]
    pub participant_ids: Vec<String>,
    /// Every other field, as received (entities in either layout, say).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Media and cards attached to a DM event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EventAttachments {
    /// Media keys (`3_1583…`), resolved in [`Includes::media`].
    #[serde(default)]
    pub media_keys: Vec<String>,
    /// Card ids.
    #[serde(default)]
    pub card_ids: Vec<String>,
}

/// A post shared in a DM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ReferencedPost {
    /// The post id.
    pub id: String,
}

/// Objects the expansions brought along.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Includes {
    /// Users (senders, participants).
    #[serde(default)]
    pub users: Vec<User>,
    /// Media of the attachments.
    #[serde(default)]
    pub media: Vec<MediaInfo>,
    /// Shared posts, as received.
    #[serde(default, alias = "posts")]
    pub tweets: Vec<Value>,
}

/// An X user, as expanded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    pub id: String,
    /// The handle, without `@`.
    #[serde(default)]
    pub username: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Every other field requested.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A media object, as expanded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MediaInfo {
    /// The media key.
    pub media_key: String,
    /// `photo`, `video` or `animated_gif`.
    #[serde(default, rename = "type")]
    pub media_type: Option<String>,
    /// The image URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A video's preview image.
    #[serde(default)]
    pub preview_image_url: Option<String>,
    /// Every other field requested.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which DM events to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventScope {
    All,
    Participant(String),
    Conversation(String),
}

/// A DM event lookup: all of the user's events, those with one participant, or one
/// conversation's; newest first, up to 30 days back. Every useful field and expansion is
/// requested by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub(crate) scope: EventScope,
    pub(crate) max_results: Option<u8>,
    pub(crate) pagination_token: Option<String>,
    pub(crate) event_types: Vec<&'static str>,
    pub(crate) params: Vec<(String, String)>,
}

impl EventQuery {
    fn new(scope: EventScope) -> Self {
        Self {
            scope,
            max_results: None,
            pagination_token: None,
            event_types: Vec::new(),
            params: vec![
                (
                    "dm_event.fields".into(),
                    "id,event_type,text,sender_id,dm_conversation_id,created_at,attachments,referenced_tweets,participant_ids"
                        .into(),
                ),
                ("expansions".into(), "sender_id,attachments.media_keys,participant_ids".into()),
                ("user.fields".into(), "id,name,username".into()),
                ("media.fields".into(), "media_key,type,url,preview_image_url".into()),
            ],
        }
    }

    /// Every DM event of the authenticated user.
    pub fn all() -> Self {
        Self::new(EventScope::All)
    }

    /// The events of the one-to-one conversation with this user.
    pub fn with_participant(user_id: impl Into<String>) -> Self {
        Self::new(EventScope::Participant(user_id.into()))
    }

    /// The events of this conversation.
    pub fn conversation(conversation_id: impl Into<String>) -> Self {
        Self::new(EventScope::Conversation(conversation_id.into()))
    }

    /// Events per page (1 to 100; X's default is 100).
    #[must_use]
    pub fn max_results(mut self, n: u8) -> Self {
        self.max_results = Some(n);
        self
    }

    /// Continues from a page's `next_token`.
    #[must_use]
    pub fn page(mut self, token: impl Into<String>) -> Self {
        self.pagination_token = Some(token.into());
        self
    }

    /// Only messages (not joins and leaves).
    #[must_use]
    pub fn messages_only(mut self) -> Self {
        self.event_types = vec!["MessageCreate"];
        self
    }

    /// Sets a query parameter, replacing the default for it (`dm_event.fields`,
    /// `expansions`, `user.fields`, `media.fields`, `tweet.fields`).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.params.retain(|(k, _)| *k != name);
        self.params.push((name, value.into()));
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if let Some(n) = self.max_results
            && !(1..=100).contains(&n)
        {
            return Err(ValidationError::new(
                "max_results",
                Problem::Invalid("must be 1 to 100".into()),
            ));
        }
        match &self.scope {
            EventScope::All => Ok(()),
            EventScope::Participant(id) => check_id("participant_id", id),
            EventScope::Conversation(id) => check_conversation_id(id),
        }
    }

    /// The path and query, after the base URL.
    pub(crate) fn path_and_query(&self) -> String {
        let path = match &self.scope {
            EventScope::All => "/2/dm_events".to_owned(),
            EventScope::Participant(id) => format!("/2/dm_conversations/with/{id}/dm_events"),
            EventScope::Conversation(id) => format!("/2/dm_conversations/{id}/dm_events"),
        };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(n) = self.max_results {
            query.append_pair("max_results", &n.to_string());
        }
        if let Some(token) = &self.pagination_token {
            query.append_pair("pagination_token", token);
        }
        if !self.event_types.is_empty() {
            query.append_pair("event_types", &self.event_types.join(","));
        }
        for (k, v) in &self.params {
            query.append_pair(k, v);
        }
        format!("{path}?{}", query.finish())
    }
}

/// One page of DM events.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventPage {
    /// The events, newest first.
    pub events: Vec<DmEvent>,
    /// Users and media the events refer to.
    pub includes: Includes,
    /// The token for the next (older) page.
    pub next_token: Option<String>,
    /// The token for the previous page.
    pub previous_token: Option<String>,
    /// How many events this page holds.
    pub result_count: Option<u64>,
    pub(crate) query: EventQuery,
}

impl EventPage {
    /// The query for the next page, if there is one.
    pub fn next_query(&self) -> Option<EventQuery> {
        self.next_token
            .as_ref()
            .map(|t| self.query.clone().page(t.clone()))
    }

    /// The expanded user with this id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.includes.users.iter().find(|u| u.id == id)
    }
}

/// The JSON envelope of X's answers.
#[derive(Deserialize)]
pub(crate) struct Envelope<D> {
    pub(crate) data: Option<D>,
    #[serde(default)]
    pub(crate) includes: Option<Includes>,
    #[serde(default)]
    pub(crate) meta: Option<Meta>,
    #[serde(default)]
    pub(crate) errors: Vec<PartialError>,
}

#[derive(Deserialize)]
pub(crate) struct Meta {
    #[serde(default)]
    pub(crate) next_token: Option<String>,
    #[serde(default)]
    pub(crate) previous_token: Option<String>,
    #[serde(default)]
    pub(crate) result_count: Option<u64>,
}

/// The `https://x.com/messages/compose` link that opens a DM to the business account,
/// optionally with text filled in: put it on a website, in an email or at the end of a post
/// ("Send a private message").
///
/// ```
/// use switchboard::twitter::message_link;
///
/// assert_eq!(
///     message_link("3805104374", Some("Hello world")),
///     "https://x.com/messages/compose?recipient_id=3805104374&text=Hello%20world"
/// );
/// ```
pub fn message_link(recipient_id: &str, text: Option<&str>) -> String {
    let mut link = format!(
        "https://x.com/messages/compose?recipient_id={}",
        super::oauth1::percent_encode(recipient_id)
    );
    if let Some(text) = text {
        link.push_str("&text=");
        link.push_str(&super::oauth1::percent_encode(text));
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_x_rules() {
        assert!(NewMessage::text("hi").validate().is_ok());
        assert!(NewMessage::media("1583157113245011970").validate().is_ok());
        assert!(NewMessage::text("").validate().is_err());
        assert!(NewMessage::text("x".repeat(10_001)).validate().is_err());
        assert!(NewMessage::text("ü".repeat(10_000)).validate().is_ok());
        let two = NewMessage::media("1").with_media("2");
        assert_eq!(two.validate().unwrap_err().field, "attachments");
        assert!(NewMessage::media("abc").validate().is_err());
        assert_eq!(
            serde_json::to_value(NewMessage::text("Check this").with_media("158")).unwrap(),
            serde_json::json!({"text": "Check this", "attachments": [{"media_id": "158"}]})
        );
    }

    #[test]
    fn conversation_ids() {
        assert!(check_conversation_id("123123123-456456456").is_ok());
        assert!(check_conversation_id("1578398451921985538").is_ok());
        assert!(check_conversation_id("123").is_err());
        assert!(check_conversation_id("1-x").is_err());
    }

    #[test]
    fn events_keep_unknown_kinds_and_fields() {
        let e: DmEvent = serde_json::from_value(serde_json::json!({
            "id": "1", "event_type": "MessageReaction", "reaction": "👍",
            "referenced_posts": [{"id": "9"}]
        }))
        .unwrap();
        assert_eq!(e.event_type, DmEventKind::Unknown("MessageReaction".into()));
        assert_eq!(e.extra["reaction"], "👍");
        assert_eq!(e.referenced_tweets[0].id, "9");
    }
}
