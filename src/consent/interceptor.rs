//! [`ConsentInterceptor`]: turns inbound STOP, START and HELP messages and the platforms'
//! own consent signals into ledger records, and answers the keywords.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::keywords::{Intent, Keywords};
use super::store::{ConsentRecord, ConsentStore, Evidence, Source, Subject};
use crate::channel::Channel;
use crate::error::Result;
use crate::model::address::{Address, PhoneNumber};
use crate::model::inbound::{
    ConsentAction, DeliveryStatus, InboundContent, InboundEvent, Sender, clamp_timestamp_ms,
};
use crate::model::message::{MessageCategory, OutboundMessage};

/// What the interceptor did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// Not a consent matter: hand the event to the app.
    No,
    /// A consent keyword or signal, recorded (and answered, for keywords): the app may skip it.
    Yes {
        /// The action recorded; `None` for HELP.
        action: Option<ConsentAction>,
        /// The topic, for topic keywords.
        topic: Option<String>,
    },
    /// A failed delivery whose error code is an opt-out (WhatsApp 131050, Twilio 21610):
    /// the opt-out is recorded, and the app should still handle the failure.
    Recorded {
        /// The opt-out's topic; `None` for everything.
        topic: Option<String>,
    },
}

/// The replies to keywords, per language code; English defaults.
#[derive(Debug, Clone)]
pub struct Replies {
    by_language: HashMap<String, (String, String, String)>,
}

impl Default for Replies {
    fn default() -> Self {
        Self::new()
            .language(
                "en",
                "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.",
                "You are subscribed again. Reply STOP to unsubscribe.",
                "Reply STOP to unsubscribe, START to subscribe again.",
            )
            .language(
                "de",
                "Sie wurden abgemeldet und erhalten keine weiteren Nachrichten. Antworten Sie START, um sich wieder anzumelden.",
                "Sie sind wieder angemeldet. Antworten Sie STOPP, um sich abzumelden.",
                "Antworten Sie STOPP zum Abmelden oder START zum Anmelden.",
            )
    }
}

impl Replies {
    /// No replies: keywords are recorded but not answered.
    pub fn new() -> Self {
        Self {
            by_language: HashMap::new(),
        }
    }

    /// The opt-out confirmation, opt-in confirmation and help text for a language.
    #[must_use]
    pub fn language(
        mut self,
        code: impl Into<String>,
        opt_out: impl Into<String>,
        opt_in: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        self.by_language
            .insert(code.into(), (opt_out.into(), opt_in.into(), help.into()));
        self
    }

    fn get(&self, language: &str, intent: Intent) -> Option<&str> {
        let (out, r#in, help) = self.by_language.get(language)?;
        Some(match intent {
            Intent::OptOut => out,
            Intent::OptIn => r#in,
            _ => help,
        })
    }
}

/// Records consent keywords and signals from inbound events, and answers the keywords.
///
/// ```no_run
/// # async fn run(events: Vec<switchboard::InboundEvent>, sms: std::sync::Arc<dyn switchboard::Channel>) -> switchboard::Result<()> {
/// use std::sync::Arc;
/// use switchboard::consent::{ConsentInterceptor, Handled, sqlite::SqliteStore};
///
/// let ledger = Arc::new(SqliteStore::open("consent.db").await?);
/// let interceptor = ConsentInterceptor::new(ledger);
/// for event in events {
///     if interceptor.process(&event, sms.as_ref()).await? == Handled::No {
///         // the app's own handling
///     }
/// }
/// # Ok(()) }
/// ```
pub struct ConsentInterceptor {
    store: Arc<dyn ConsentStore>,
    keywords: Keywords,
    replies: Replies,
}

impl fmt::Debug for ConsentInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentInterceptor")
            .field("keywords", &self.keywords)
            .finish_non_exhaustive()
    }
}

impl ConsentInterceptor {
    /// An interceptor with the default English and German keywords and replies.
    pub fn new(store: Arc<dyn ConsentStore>) -> Self {
        Self {
            store,
            keywords: Keywords::default(),
            replies: Replies::default(),
        }
    }

    /// Uses these keywords.
    #[must_use]
    pub fn keywords(mut self, keywords: Keywords) -> Self {
        self.keywords = keywords;
        self
    }

    /// Uses these replies.
    #[must_use]
    pub fn replies(mut self, replies: Replies) -> Self {
        self.replies = replies;
        self
    }

    /// Handles one event. A keyword message is recorded first (durably), then answered
    /// once through `reply_channel`: pass the channel *without* a consent guard, or the
    /// confirmation of a STOP would itself be refused. A platform signal (WhatsApp's
    /// marketing stop/resume, Twilio's `OptOutType`) is recorded with source `Provider`, and so
    /// is a failed delivery whose error is an opt-out (WhatsApp 131050, Twilio 21610).
    pub async fn process(&self, event: &InboundEvent, reply_channel: &dyn Channel) -> Result<Handled> {
        match event {
            InboundEvent::Message(message) => {
                let InboundContent::Text(text) = &message.content else {
                    return Ok(Handled::No);
                };
                let Some(found) = self.keywords.classify(text) else {
                    return Ok(Handled::No);
                };
                let Some(address) = address(&message.from) else {
                    return Ok(Handled::No);
                };
                let action = match found.intent {
                    Intent::OptOut => Some(ConsentAction::OptOut),
                    Intent::OptIn => Some(ConsentAction::OptIn),
                    _ => None,
                };
                if let Some(action) = action {
                    let subject = Subject::new(&message.channel, &address);
                    let evidence = Evidence::message(message.id.clone(), text.clone());
                    let mut record = ConsentRecord::new(
                        subject,
                        found.topic.as_deref(),
                        action,
                        Source::Keyword,
                        evidence,
                    );
                    // When the person said it, not when we got to it: a START redelivered
                    // late must not beat the STOP they sent after it. Providers give
                    // seconds; on equal times the opt-out wins.
                    if let Some(seconds) = message.timestamp {
                        record = record.at(clamp_timestamp_ms(seconds, SystemTime::now()));
                    }
                    self.store.append(&record).await?;
                }
                if let Some(reply) = self.replies.get(&found.language, found.intent) {
                    let answer = OutboundMessage::text(address, reply)
                        .category(MessageCategory::Service)
                        .reply_to(message.id.clone());
                    reply_channel.send(&answer).await?;
                }
                Ok(Handled::Yes {
                    action,
                    topic: found.topic,
                })
            }
            InboundEvent::Consent(signal) => {
                let Some(address) = address(&signal.from) else {
                    return Ok(Handled::No);
                };
                let evidence = Evidence {
                    message_id: signal.id.clone(),
                    text: signal.detail.clone(),
                    ..Evidence::default()
                };
                // WhatsApp's marketing stop covers all marketing, whatever the app's topics.
                let topic = match signal.scope.as_deref() {
                    Some("marketing_messages" | "marketing") => Some(super::MARKETING),
                    other => other,
                };
                let mut record = ConsentRecord::new(
                    Subject::new(&signal.channel, &address),
                    topic,
                    signal.action,
                    Source::Provider,
                    evidence,
                );
                if let Some(seconds) = signal.timestamp {
                    record = record.at(clamp_timestamp_ms(seconds, SystemTime::now()));
                }
                self.store.append(&record).await?;
                Ok(Handled::Yes {
                    action: Some(signal.action),
                    topic: topic.map(str::to_owned),
                })
            }
            InboundEvent::Status(status) if status.status == DeliveryStatus::Failed => {
                let refusal = status.errors.iter().find_map(|e| {
                    super::provider_opt_out(&status.channel, e.code, Some(e.class)).map(|topic| (topic, e))
                });
                let (Some((topic, error)), Some(address)) =
                    (refusal, status.recipient.as_deref().and_then(recipient))
                else {
                    return Ok(Handled::No);
                };
                let evidence = Evidence {
                    message_id: Some(status.message_id.clone()),
                    text: Some(error.message.clone()),
                    ..Evidence::default()
                };
                let mut record = ConsentRecord::new(
                    Subject::new(&status.channel, &address),
                    topic,
                    ConsentAction::OptOut,
                    Source::Provider,
                    evidence,
                );
                if let Some(seconds) = status.timestamp {
                    record = record.at(clamp_timestamp_ms(seconds, SystemTime::now()));
                }
                self.store.append(&record).await?;
                Ok(Handled::Recorded {
                    topic: topic.map(str::to_owned),
                })
            }
            _ => Ok(Handled::No),
        }
    }
}

/// A status's recipient as an address: E.164, WhatsApp's bare digits, else a user id.
fn recipient(raw: &str) -> Option<Address> {
    if raw.starts_with('+') {
        return Address::phone(raw).ok();
    }
    PhoneNumber::from_digits(raw)
        .map(Address::Phone)
        .or_else(|| Address::user(raw).ok())
}

fn address(sender: &Sender) -> Option<Address> {
    sender
        .phone
        .clone()
        .map(Address::Phone)
        .or_else(|| sender.user_id.clone().map(Address::User))
}
