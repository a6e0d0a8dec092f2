//! Conversations: what happens to inbound events once they are verified and parsed. The
//! [`Router`] sends them to handlers by channel, keyword, pattern or button and hands whole
//! conversations over to people; [`BusinessHours`] and
//! [`AfterHours`] answer when nobody is there (feature `hours`).

#[cfg(feature = "hours")]
pub mod hours;
pub mod router;

#[cfg(feature = "hours")]
pub use hours::{AfterHours, BusinessHours, Weekday};
pub use router::{Dispatched, Route, Router};
