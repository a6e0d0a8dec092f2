//! SMS: the channel that reaches every phone, priced per segment.
//!
//! [`segments`] tells exactly how a text will be encoded and split (and billed) before it
//! is sent; [`twilio`] and [`vonage`] are the channels. SMS has no buttons, so reply
//! buttons are sent as numbered options ([`reply_options`]) and a numeric answer maps back
//! to the button ([`match_reply`]).

pub mod segments;
pub mod twilio;
pub mod vonage;

use crate::model::message::{Button, Buttons};

/// The prompt with one "Reply N for …" line per button, then the footer.
///
/// ```
/// use switchboard::{Button, Buttons};
/// use switchboard::sms::reply_options;
///
/// let ask = Buttons::new("Newsletter?", [Button::new("yes", "Yes"), Button::new("no", "No")]);
/// assert_eq!(reply_options(&ask), "Newsletter?\n\nReply 1 for Yes\nReply 2 for No");
/// ```
pub fn reply_options(buttons: &Buttons) -> String {
    let mut text = buttons.text.clone();
    for (i, button) in buttons.buttons.iter().enumerate() {
        text.push_str(if i == 0 { "\n\n" } else { "\n" });
        text.push_str(&format!("Reply {} for {}", i + 1, button.title));
    }
    if let Some(footer) = &buttons.footer {
        text.push_str("\n\n");
        text.push_str(footer);
    }
    text
}

/// The button an SMS answer chose: its number (`2`, ` 2. `) or its title, ignoring case.
///
/// ```
/// use switchboard::{Button, Buttons};
/// use switchboard::sms::match_reply;
///
/// let ask = Buttons::new("Newsletter?", [Button::new("yes", "Yes"), Button::new("no", "No")]);
/// assert_eq!(match_reply(" 2. ", &ask).map(|b| b.id.as_str()), Some("no"));
/// assert_eq!(match_reply("yes", &ask).map(|b| b.id.as_str()), Some("yes"));
/// assert_eq!(match_reply("maybe", &ask), None);
/// ```
pub fn match_reply<'a>(answer: &str, buttons: &'a Buttons) -> Option<&'a Button> {
    let answer = answer.trim().trim_end_matches(['.', ')', '!']).trim();
    if let Ok(n) = answer.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| buttons.buttons.get(i));
    }
    buttons
        .buttons
        .iter()
        .find(|b| b.title.trim().eq_ignore_ascii_case(answer))
}
