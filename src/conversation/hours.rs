//! Business hours: a weekly schedule in a time zone, with holidays, and an auto-reply for
//! messages that arrive while nobody is there, sent at most once per person per closed
//! period (feature `hours`, on by default; time zones from the bundled IANA database, so it
//! works the same in a container without `/usr/share/zoneinfo`).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use switchboard::conversation::hours::{BusinessHours, Weekday};
//!
//! let hours = BusinessHours::new("Europe/Berlin")?
//!     .weekdays("08:00", "20:00")?
//!     .on(Weekday::Saturday, "10:00", "14:00")?
//!     .holiday("2026-12-25")?;
//! // Monday 23 November 2026, 07:30 UTC is 08:30 in Berlin.
//! let monday = UNIX_EPOCH + Duration::from_secs(1_795_419_000);
//! assert!(hours.is_open(monday));
//! # Ok::<(), switchboard::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::channel::Channel;
use crate::consent::keywords::Keywords;
use crate::error::{Error, Result};
use crate::model::inbound::{InboundContent, InboundEvent};
use crate::model::message::{OutboundMessage, SendReceipt};
use crate::webhook::Deduplicator;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Weekday {
    /// Monday to Friday.
    pub const WORKDAYS: [Self; 5] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn of(date: Date) -> usize {
        usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)
    }
}

/// A weekly schedule in a time zone, with holidays. Intervals are `[from, to)` in local
/// time; one that spans midnight is given as two.
#[derive(Clone)]
pub struct BusinessHours {
    tz: TimeZone,
    tz_name: String,
    week: [Vec<(Time, Time)>; 7],
    holidays: BTreeSet<Date>,
}

impl fmt::Debug for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessHours")
            .field("time_zone", &self.tz_name)
            .field("week", &self.week)
            .field("holidays", &self.holidays)
            .finish()
    }
}

fn invalid(what: &str, value: &str, err: impl fmt::Display) -> Error {
    Error::config(format!("business hours: invalid {what} `{value}`: {err}"))
}

fn time(value: &str) -> Result<Time> {
    value
        .parse::<Time>()
        .map_err(|e| invalid("time (HH:MM)", value, e))
}

impl BusinessHours {
    /// Closed at all times in this IANA time zone (`Europe/Berlin`), until opened with
    /// [`on`](Self::on) or [`weekdays`](Self::weekdays).
    pub fn new(time_zone: &str) -> Result<Self> {
        let tz = TimeZone::get(time_zone).map_err(|e| invalid("time zone", time_zone, e))?;
        Ok(Self {
            tz,
            tz_name: time_zone.to_owned(),
            week: Default::default(),
            holidays: BTreeSet::new(),
        })
    }

    /// Open on `day` from `from` to `to` (`"08:00"`, `"20:00"`); several intervals a day
    /// are allowed (a lunch break).
    pub fn on(mut self, day: Weekday, from: &str, to: &str) -> Result<Self> {
        let (start, end) = (time(from)?, time(to)?);
        if end <= start {
            return Err(invalid(
                "interval",
                &format!("{from}-{to}"),
                "it must end after it starts (split one that spans midnight in two)",
            ));
        }
        let day = &mut self.week[day.index()];
        day.push((start, end));
        day.sort();
        Ok(self)
    }

    /// Open Monday to Friday from `from` to `to`.
    pub fn weekdays(mut self, from: &str, to: &str) -> Result<Self> {
        for day in Weekday::WORKDAYS {
            self = self.on(day, from, to)?;
        }
        Ok(self)
    }

    /// Closed all day on this date (`"2026-12-25"`).
    pub fn holiday(mut self, date: &str) -> Result<Self> {
        let date = date
            .parse::<Date>()
            .map_err(|e| invalid("date (YYYY-MM-DD)", date, e))?;
        self.holidays.insert(date);
        Ok(self)
    }

    /// The IANA name of the time zone.
    pub fn time_zone(&self) -> &str {
        &self.tz_name
    }

    fn zoned(&self, at: SystemTime) -> Option<Zoned> {
        Timestamp::try_from(at).ok().map(|t| t.to_zoned(self.tz.clone()))
    }

    fn intervals(&self, date: Date) -> &[(Time, Time)] {
        if self.holidays.contains(&date) {
            &[]
        } else {
            &self.week[Weekday::of(date)]
        }
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: SystemTime) -> bool {
        self.zoned(at).is_some_and(|now| {
            let t = now.time();
            self.intervals(now.date())
                .iter()
                .any(|(from, to)| *from <= t && t < *to)
        })
    }

    /// When it next opens after `at` (`at` itself if open), within a year; `None` if it
    /// never does.
    pub fn next_opening(&self, at: SystemTime) -> Option<SystemTime> {
        self.next_opening_zoned(at)
            .map(|z| SystemTime::from(z.timestamp()))
    }

    fn next_opening_zoned(&self, at: SystemTime) -> Option<Zoned> {
        let now = self.zoned(at)?;
        if self.is_open(at) {
            return Some(now);
        }
        let mut date = now.date();
        for _ in 0..=366 {
            for (from, _) in self.intervals(date) {
                // A time skipped by a DST change opens at the first instant after the gap.
                let Ok(opens) = date.to_datetime(*from).to_zoned(self.tz.clone()) else {
                    continue;
                };
                if opens.timestamp() > now.timestamp() {
                    return Some(opens);
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// The auto-reply outside [`BusinessHours`]: to each person at most once per closed period
/// (kept in a [`Deduplicator`], so a durable one remembers across restarts and instances).
///
/// The text may name the next opening with `{opens}` (`Monday 08:00`, local time).
///
/// ```no_run
/// # async fn run(whatsapp: switchboard::whatsapp::Client, event: switchboard::InboundEvent) -> switchboard::Result<()> {
/// use std::sync::Arc;
/// use switchboard::consent::sqlite::SqliteStore;
/// use switchboard::conversation::hours::{AfterHours, BusinessHours};
///
/// let hours = BusinessHours::new("Europe/Berlin")?.weekdays("08:00", "20:00")?;
/// let ledger = SqliteStore::open("switchboard.db").await?;
/// let auto_reply = AfterHours::new(
///     hours,
///     Arc::new(ledger.deduplicator()),
///     "Thanks! Our team is back {opens} and will answer you then.",
/// );
/// auto_reply.handle(&whatsapp, &event).await?; // for every inbound event
/// # Ok(()) }
/// ```
pub struct AfterHours {
    hours: BusinessHours,
    seen: Arc<dyn Deduplicator>,
    text: String,
    keywords: Keywords,
}

impl fmt::Debug for AfterHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterHours")
            .field("hours", &self.hours)
            .finish_non_exhaustive()
    }
}

impl AfterHours {
    /// Replies `text` outside `hours`, remembering whom it answered in `seen`.
    pub fn new(hours: BusinessHours, seen: Arc<dyn Deduplicator>, text: impl Into<String>) -> Self {
        Self {
            hours,
            seen,
            text: text.into(),
            keywords: Keywords::default(),
        }
    }

    /// The consent keywords it never answers (default [`Keywords::default`]): a STOP gets the
    /// opt-out confirmation, not "we are closed". Use the interceptor's list here too.
    #[must_use]
    pub fn keywords(mut self, keywords: Keywords) -> Self {
        self.keywords = keywords;
        self
    }

    /// The schedule.
    pub fn hours(&self) -> &BusinessHours {
        &self.hours
    }

    /// Answers `event` through `channel` if it is a message that arrived while closed and
    /// its sender has not had the auto-reply in this closed period; the receipt if it did.
    pub async fn handle(&self, channel: &dyn Channel, event: &InboundEvent) -> Result<Option<SendReceipt>> {
        self.handle_at(channel, event, SystemTime::now()).await
    }

    /// [`handle`](Self::handle) as if it were `now` (for tests and replays).
    pub async fn handle_at(
        &self,
        channel: &dyn Channel,
        event: &InboundEvent,
        now: SystemTime,
    ) -> Result<Option<SendReceipt>> {
        let InboundEvent::Message(message) = event else {
            return Ok(None);
        };
        if self.hours.is_open(now) {
            return Ok(None);
        }
        if let InboundContent::Text(text) = &message.content
            && self.keywords.classify(text).is_some()
        {
            return Ok(None);
        }
        let Some(to) = message
            .from
            .phone
            .clone()
            .map(crate::Address::from)
            .or_else(|| message.from.user_id.clone().map(crate::Address::from))
        else {
            return Ok(None);
        };
        // The closed period is named by when it ends: one reply per person until then.
        let opens = self.hours.next_opening_zoned(now);
        let period = opens.as_ref().map_or(0, |z| z.timestamp().as_millisecond());
        let key = format!("after-hours:{}:{}:{period}", message.channel, to.as_key());
        if !self.seen.first_sighting(&key).await? {
            return Ok(None);
        }
        let when = opens.map_or_else(|| "soon".to_owned(), |z| z.strftime("%A %H:%M").to_string());
        let reply =
            OutboundMessage::text(to, self.text.replace("{opens}", &when)).reply_to(message.id.clone());
        channel.send(&reply).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(rfc3339: &str) -> SystemTime {
        SystemTime::from(rfc3339.parse::<Timestamp>().unwrap())
    }

    fn berlin() -> BusinessHours {
        BusinessHours::new("Europe/Berlin")
            .unwrap()
            .weekdays("08:00", "20:00")
            .unwrap()
            .holiday("2026-12-25")
            .unwrap()
    }

    #[test]
    fn open_on_weekdays_in_local_time() {
        let hours = berlin();
        // November: UTC+1.
        assert!(!hours.is_open(at("2026-11-23T06:59:00Z")), "Monday 07:59");
        assert!(hours.is_open(at("2026-11-23T07:00:00Z")), "Monday 08:00");
        assert!(hours.is_open(at("2026-11-23T18:59:59Z")), "Monday 19:59:59");
        assert!(!hours.is_open(at("2026-11-23T19:00:00Z")), "Monday 20:00");
        assert!(!hours.is_open(at("2026-11-28T10:00:00Z")), "Saturday");
        assert!(!hours.is_open(at("2026-12-25T10:00:00Z")), "Christmas, a Friday");
        // After the switch to summer time (29 March 2027): UTC+2.
        assert!(hours.is_open(at("2027-03-29T06:00:00Z")), "Monday 08:00 CEST");
        assert!(!hours.is_open(at("2027-03-29T05:59:00Z")));
        assert!(hours.is_open(UNIX_EPOCH + Duration::from_secs(1_795_419_000)));
    }

    #[test]
    fn next_opening_skips_weekends_and_holidays() {
        let hours = berlin();
        assert_eq!(
            hours.next_opening(at("2026-11-23T06:00:00Z")),
            Some(at("2026-11-23T07:00:00Z"))
        );
        assert_eq!(
            hours.next_opening(at("2026-11-27T20:00:00Z")),
            Some(at("2026-11-30T07:00:00Z")),
            "Friday evening → Monday"
        );
        assert_eq!(
            hours.next_opening(at("2026-12-24T20:00:00Z")),
            Some(at("2026-12-28T07:00:00Z")),
            "Thursday evening, Christmas Friday → Monday"
        );
        let open = at("2026-11-23T12:00:00Z");
        assert_eq!(hours.next_opening(open), Some(open));
        assert_eq!(
            BusinessHours::new("UTC").unwrap().next_opening(open),
            None,
            "never open"
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!(BusinessHours::new("Mars/Olympus").is_err());
        assert!(berlin().on(Weekday::Sunday, "20:00", "08:00").is_err());
        assert!(berlin().on(Weekday::Sunday, "25:00", "26:00").is_err());
        assert!(berlin().holiday("2026-13-01").is_err());
    }
}
