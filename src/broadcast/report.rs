//! Progress, the final report, and cost estimates from a price table.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::outbox::{Outcome, RecipientState, TallyRow};
use crate::model::message::MessageCategory;

/// Where a running broadcast stands, passed to the progress callback after every chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The broadcast.
    pub broadcast: String,
    /// Recipients in the outbox.
    pub total: u64,
    /// Recipients in a final state.
    pub done: u64,
    /// Accepted by the provider.
    pub sent: u64,
    /// Failed for good.
    pub failed: u64,
    /// Skipped for want of consent.
    pub skipped: u64,
    /// Possibly sent.
    pub ambiguous: u64,
    /// Transient failures, each retried later.
    pub retries: u64,
}

impl Progress {
    pub(crate) fn from_tally(broadcast: &str, tally: &[TallyRow]) -> Self {
        let mut progress = Self {
            broadcast: broadcast.to_owned(),
            total: 0,
            done: 0,
            sent: 0,
            failed: 0,
            skipped: 0,
            ambiguous: 0,
            retries: 0,
        };
        for row in tally {
            progress.total += row.count;
            if row.state.is_final() {
                progress.done += row.count;
            }
            match row.state {
                RecipientState::Sent => progress.sent += row.count,
                RecipientState::Failed => progress.failed += row.count,
                RecipientState::Skipped => progress.skipped += row.count,
                RecipientState::Ambiguous => progress.ambiguous += row.count,
                _ => {}
            }
        }
        progress
    }

    pub(crate) fn count(&mut self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Sent { .. } => &mut self.sent,
            Outcome::Failed { .. } => &mut self.failed,
            Outcome::Skipped { .. } => &mut self.skipped,
            Outcome::Ambiguous { .. } => &mut self.ambiguous,
            Outcome::Retry { .. } => {
                self.retries += 1;
                return;
            }
        };
        *counter += 1;
        self.done += 1;
    }
}

/// A user-supplied price list in one currency, for cost estimates: WhatsApp per delivered
/// message by category and country, SMS per segment by country. Countries are given as
/// E.164 prefixes (`+49`, `+1`); the longest match wins, and `""` matches every number.
///
/// ```
/// use switchboard::broadcast::PriceTable;
/// use switchboard::MessageCategory;
///
/// let prices = PriceTable::new("EUR")
///     .whatsapp(MessageCategory::Marketing, "+49", 0.1131)
///     .whatsapp(MessageCategory::Marketing, "", 0.0600)
///     .sms("+49", 0.0750);
/// # let _ = prices;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    currency: String,
    entries: Vec<PriceEntry>,
}

#[derive(Debug, Clone, PartialEq)]
struct PriceEntry {
    channel: String,
    category: Option<MessageCategory>,
    prefix: String,
    micros: i64,
}

impl PriceTable {
    /// An empty table in this currency (`EUR`, `USD`).
    pub fn new(currency: impl Into<String>) -> Self {
        Self {
            currency: currency.into(),
            entries: Vec::new(),
        }
    }

    /// The price of a WhatsApp message of `category` to numbers starting with `prefix`,
    /// billed when it is delivered.
    #[must_use]
    pub fn whatsapp(self, category: MessageCategory, prefix: &str, price: f64) -> Self {
        self.price("whatsapp", Some(category), prefix, price)
    }

    /// The price of one SMS segment to numbers starting with `prefix`, billed when sent.
    #[must_use]
    pub fn sms(self, prefix: &str, price_per_segment: f64) -> Self {
        self.price("sms", None, prefix, price_per_segment)
    }

    /// A price for any channel (a custom one), for one category or (`None`) all of them,
    /// per message (per segment where the channel reports segments).
    #[must_use]
    pub fn price(
        mut self,
        channel: &str,
        category: Option<MessageCategory>,
        prefix: &str,
        price: f64,
    ) -> Self {
        self.entries.push(PriceEntry {
            channel: channel.to_owned(),
            category,
            prefix: prefix.to_owned(),
            // Kept in millionths, so that sums over a million messages stay exact.
            micros: (price * 1_000_000.0).round() as i64,
        });
        self
    }

    /// The currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// The estimated price of one message in millionths; `None` if the table has none.
    pub fn cost(
        &self,
        channel: &str,
        category: MessageCategory,
        address: &str,
        segments: Option<usize>,
    ) -> Option<i64> {
        let entry = self
            .entries
            .iter()
            .filter(|e| {
                e.channel == channel
                    && e.category.is_none_or(|c| c == category)
                    && address.starts_with(e.prefix.as_str())
            })
            // The longest prefix; a category-specific price over a general one.
            .max_by_key(|e| (e.prefix.len(), e.category.is_some()))?;
        let units = i64::try_from(segments.unwrap_or(1).max(1)).unwrap_or(i64::MAX);
        Some(entry.micros.saturating_mul(units))
    }
}

/// The estimated cost of a broadcast, in the price table's currency.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Cost {
    /// The currency.
    pub currency: String,
    /// What is billed so far: SMS on acceptance, WhatsApp once a delivery is reported.
    pub billed: f64,
    /// What it costs if every accepted WhatsApp message is delivered too.
    pub if_all_delivered: f64,
    /// Accepted messages the table had no price for.
    pub unpriced: u64,
}

/// How a broadcast ended: counts per state, per error code and per channel, deliveries
/// reported so far, and the estimated cost. `Display` prints a summary.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// The broadcast.
    pub broadcast: String,
    /// Every recipient in the outbox.
    pub total: u64,
    /// Recipients per state.
    pub states: BTreeMap<RecipientState, u64>,
    /// Failed, skipped and ambiguous recipients per code (`131026`, `opted_out`,
    /// `no_channel`), and late delivery failures per code.
    pub codes: BTreeMap<String, u64>,
    /// Recipients per channel and state.
    pub channels: BTreeMap<String, BTreeMap<RecipientState, u64>>,
    /// Delivery statuses reported so far (`delivered`, `read`, `failed`) for sent messages.
    pub deliveries: BTreeMap<String, u64>,
    /// The estimated cost, with a price table.
    pub cost: Option<Cost>,
    /// How long this run took.
    pub elapsed: Duration,
}

impl Report {
    pub(crate) fn from_tally(
        broadcast: &str,
        tally: &[TallyRow],
        prices: Option<&PriceTable>,
        elapsed: Duration,
    ) -> Self {
        let mut report = Self {
            broadcast: broadcast.to_owned(),
            total: 0,
            states: BTreeMap::new(),
            codes: BTreeMap::new(),
            channels: BTreeMap::new(),
            deliveries: BTreeMap::new(),
            cost: None,
            elapsed,
        };
        let (mut billed, mut if_all, mut unpriced) = (0i64, 0i64, 0u64);
        for row in tally {
            report.total += row.count;
            *report.states.entry(row.state).or_default() += row.count;
            *report
                .channels
                .entry(row.channel.clone())
                .or_default()
                .entry(row.state)
                .or_default() += row.count;
            if let Some(code) = &row.code
                && (row.state != RecipientState::Sent || row.delivery.as_deref() == Some("failed"))
            {
                *report.codes.entry(code.clone()).or_default() += row.count;
            }
            if row.state == RecipientState::Sent {
                if let Some(delivery) = &row.delivery {
                    *report.deliveries.entry(delivery.clone()).or_default() += row.count;
                }
                if_all += row.cost_micros;
                unpriced += row.unpriced;
                // WhatsApp bills a message once delivered; the rest when accepted.
                let delivered = matches!(row.delivery.as_deref(), Some("delivered" | "read"));
                if row.channel != "whatsapp" || delivered {
                    billed += row.cost_micros;
                }
            }
        }
        report.cost = prices.map(|p| Cost {
            currency: p.currency().to_owned(),
            billed: billed as f64 / 1_000_000.0,
            if_all_delivered: if_all as f64 / 1_000_000.0,
            unpriced,
        });
        report
    }

    /// How many recipients are in `state`.
    pub fn count(&self, state: RecipientState) -> u64 {
        self.states.get(&state).copied().unwrap_or(0)
    }

    /// Whether every recipient reached a final state.
    pub fn is_finished(&self) -> bool {
        self.states
            .iter()
            .all(|(state, count)| state.is_final() || *count == 0)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broadcast {}: {} recipients", self.broadcast, self.total)?;
        for (state, count) in &self.states {
            write!(f, ", {count} {state}")?;
        }
        if !self.codes.is_empty() {
            let codes: Vec<String> = self.codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
            write!(f, " (codes: {})", codes.join(", "))?;
        }
        if let Some(cost) = &self.cost {
            write!(
                f,
                "; cost {:.2} {} billed, {:.2} if all delivered",
                cost.billed, cost.currency, cost.if_all_delivered
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_match_the_longest_prefix_and_count_segments() {
        let prices = PriceTable::new("EUR")
            .whatsapp(MessageCategory::Marketing, "", 0.06)
            .whatsapp(MessageCategory::Marketing, "+49", 0.1131)
            .whatsapp(MessageCategory::Transactional, "+49", 0.0456)
            .sms("+49", 0.075);
        let m = MessageCategory::Marketing;
        assert_eq!(prices.cost("whatsapp", m, "+4917612345678", None), Some(113_100));
        assert_eq!(prices.cost("whatsapp", m, "+16505551234", None), Some(60_000));
        assert_eq!(
            prices.cost("whatsapp", MessageCategory::Transactional, "+4917612345678", None),
            Some(45_600)
        );
        assert_eq!(prices.cost("sms", m, "+4917612345678", Some(3)), Some(225_000));
        assert_eq!(prices.cost("sms", m, "+16505551234", Some(1)), None);
    }

    #[test]
    fn reports_bill_whatsapp_on_delivery() {
        let mut delivered = TallyRow::new("whatsapp", RecipientState::Sent, 3);
        delivered.delivery = Some("delivered".into());
        delivered.cost_micros = 300_000;
        let mut accepted = TallyRow::new("whatsapp", RecipientState::Sent, 2);
        accepted.cost_micros = 200_000;
        let mut sms = TallyRow::new("sms", RecipientState::Sent, 1);
        sms.cost_micros = 150_000;
        let mut failed = TallyRow::new("sms", RecipientState::Failed, 4);
        failed.code = Some("21211".into());
        let report = Report::from_tally(
            "b",
            &[delivered, accepted, sms, failed],
            Some(&PriceTable::new("EUR")),
            Duration::ZERO,
        );
        assert_eq!(report.total, 10);
        assert_eq!(report.count(RecipientState::Sent), 6);
        assert_eq!(report.codes["21211"], 4);
        assert_eq!(report.deliveries["delivered"], 3);
        let cost = report.cost.clone().unwrap();
        assert!((cost.billed - 0.45).abs() < 1e-9);
        assert!((cost.if_all_delivered - 0.65).abs() < 1e-9);
        assert!(report.is_finished());
        assert_eq!(
            report.to_string(),
            "broadcast b: 10 recipients, 6 sent, 4 failed (codes: 21211×4); cost 0.45 EUR billed, 0.65 if all delivered"
        );
    }
}
