//! [`Router`]: inbound events to handlers by channel, content, keyword, pattern or button,
//! with a hand-over of whole conversations to people.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use crate::channel::ChannelKind;
use crate::consent::keywords::normalize;
use crate::error::Result;
use crate::model::inbound::{InboundContent, InboundEvent};

type Handler = Arc<dyn Fn(InboundEvent) -> BoxFuture<'static, Result<()>> + Send + Sync>;
type Predicate = Arc<dyn Fn(&InboundEvent) -> bool + Send + Sync>;

/// Which events a route takes. Conditions combine with AND; an empty route takes every
/// event.
#[derive(Clone, Default)]
pub struct Route {
    name: String,
    conditions: Vec<Predicate>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("conditions", &self.conditions.len())
            .finish()
    }
}

fn text_of(event: &InboundEvent) -> Option<&str> {
    match event {
        InboundEvent::Message(m) => match &m.content {
            InboundContent::Text(text) => Some(text),
            InboundContent::ButtonReply { title, .. } => Some(title),
            InboundContent::Media(media) => media.caption.as_deref(),
            _ => None,
        },
        _ => None,
    }
}

impl Route {
    /// A route named for logs and [`Dispatched::Handled`].
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            conditions: Vec::new(),
        }
    }

    /// Adds a condition of your own.
    #[must_use]
    pub fn when(mut self, condition: impl Fn(&InboundEvent) -> bool + Send + Sync + 'static) -> Self {
        self.conditions.push(Arc::new(condition));
        self
    }

    /// Only events of this channel.
    #[must_use]
    pub fn channel(self, kind: ChannelKind) -> Self {
        self.when(move |e| *e.channel() == kind)
    }

    /// Only inbound messages (not statuses, reactions or consent signals).
    #[must_use]
    pub fn messages(self) -> Self {
        self.when(|e| matches!(e, InboundEvent::Message(_)))
    }

    /// Messages whose whole text is one of these keywords, compared as the consent
    /// keywords are (case, surrounding spaces, punctuation and emoji ignored).
    #[must_use]
    pub fn keyword<'a>(self, keywords: impl IntoIterator<Item = &'a str>) -> Self {
        let words: HashSet<String> = keywords.into_iter().map(|k| normalize(k).into_owned()).collect();
        self.when(move |e| text_of(e).is_some_and(|t| words.contains(normalize(t).as_ref())))
    }

    /// Messages whose text contains any of these words (case-insensitive): "vertrag" also
    /// catches "Frage zu meinem Vertrag".
    #[must_use]
    pub fn mentions<'a>(self, words: impl IntoIterator<Item = &'a str>) -> Self {
        let words: Vec<String> = words.into_iter().map(str::to_lowercase).collect();
        self.when(move |e| {
            text_of(e).is_some_and(|t| {
                let t = t.to_lowercase();
                words.iter().any(|w| t.contains(w.as_str()))
            })
        })
    }

    /// Messages whose text satisfies `pattern` (a regex's `is_match`, say).
    #[must_use]
    pub fn text(self, pattern: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.when(move |e| text_of(e).is_some_and(&pattern))
    }

    /// Taps of the reply button with this id.
    #[must_use]
    pub fn button(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.when(move |e| {
            matches!(e, InboundEvent::Message(m)
                if matches!(&m.content, InboundContent::ButtonReply { id: tapped, .. } if *tapped == id))
        })
    }

    /// Messages with media (images, documents, voice…).
    #[must_use]
    pub fn media(self) -> Self {
        self.when(|e| matches!(e, InboundEvent::Message(m) if matches!(m.content, InboundContent::Media(_))))
    }

    fn matches(&self, event: &InboundEvent) -> bool {
        self.conditions.iter().all(|c| c(event))
    }
}

/// What [`Router::dispatch`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dispatched {
    /// A route's handler took it.
    Handled {
        /// The route's name.
        route: String,
    },
    /// It went to the people's queue (a hand-over route, or a conversation already handed
    /// over).
    HandedOver,
    /// No route matched and there is no default handler.
    Unmatched,
}

/// Sends inbound events to the first matching route's handler, in the order routes were
/// added. Hand-over routes pass the event, and every later message of the same person on
/// the same channel, to a human queue until [`release`](Self::release).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use switchboard::conversation::router::{Dispatched, Route, Router};
///
/// let router = Router::new()
///     .route(Route::named("prices").messages().keyword(["preise", "prices"]), |event| async move {
///         // answer with the price list
///         let _ = event;
///         Ok(())
///     })
///     .hand_over(Route::named("contracts").messages().mentions(["vertrag", "contract"]), |event| async move {
///         // put it in the customer service queue
///         let _ = event;
///         Ok(())
///     });
/// # let _ = router; Ok::<(), switchboard::Error>(())
/// # }).unwrap();
/// ```
#[derive(Default)]
pub struct Router {
    routes: Vec<(Route, Handler, bool)>,
    default: Option<Handler>,
    human: Option<Handler>,
    handed_over: Mutex<HashSet<(String, String)>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field(
                "routes",
                &self.routes.iter().map(|(r, _, _)| &r.name).collect::<Vec<_>>(),
            )
            .field("handed_over", &self.lock().len())
            .finish_non_exhaustive()
    }
}

fn boxed<F, Fut>(handler: F) -> Handler
where
    F: Fn(InboundEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event| Box::pin(handler(event)))
}

/// The person behind a message: channel and sender.
fn conversation(event: &InboundEvent) -> Option<(String, String)> {
    match event {
        InboundEvent::Message(m) => m
            .from
            .key()
            .map(|key| (m.channel.as_str().to_owned(), key.to_owned())),
        _ => None,
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route.
    #[must_use]
    pub fn route<F, Fut>(mut self, route: Route, handler: F) -> Self
    where
        F: Fn(InboundEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.routes.push((route, boxed(handler), false));
        self
    }

    /// Adds a hand-over route: matching messages go to `people` (your human queue), and so
    /// does everything the same person writes next, until released.
    #[must_use]
    pub fn hand_over<F, Fut>(mut self, route: Route, people: F) -> Self
    where
        F: Fn(InboundEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let people = boxed(people);
        self.routes.push((route, Arc::clone(&people), true));
        self.human = Some(people);
        self
    }

    /// The handler for events no route takes.
    #[must_use]
    pub fn otherwise<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(InboundEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.default = Some(boxed(handler));
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.handed_over.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the conversation with this person (channel and sender key: E.164 or user id)
    /// back to the routes.
    pub fn release(&self, channel: &ChannelKind, sender: &str) -> bool {
        self.lock()
            .remove(&(channel.as_str().to_owned(), sender.to_owned()))
    }

    /// Whether the conversation with this person is with people.
    pub fn is_handed_over(&self, channel: &ChannelKind, sender: &str) -> bool {
        self.lock()
            .contains(&(channel.as_str().to_owned(), sender.to_owned()))
    }

    /// Runs the event's handler and says which one took it.
    pub async fn dispatch(&self, event: InboundEvent) -> Result<Dispatched> {
        let person = conversation(&event);
        if let (Some(person), Some(people)) = (&person, &self.human)
            && self.lock().contains(person)
        {
            people(event).await?;
            return Ok(Dispatched::HandedOver);
        }
        for (route, handler, hands_over) in &self.routes {
            if !route.matches(&event) {
                continue;
            }
            if *hands_over {
                if let Some(person) = person {
                    self.lock().insert(person);
                }
                handler(event).await?;
                return Ok(Dispatched::HandedOver);
            }
            handler(event).await?;
            return Ok(Dispatched::Handled {
                route: route.name.clone(),
            });
        }
        match &self.default {
            Some(handler) => {
                handler(event).await?;
                Ok(Dispatched::Handled {
                    route: "otherwise".into(),
                })
            }
            None => Ok(Dispatched::Unmatched),
        }
    }
}
