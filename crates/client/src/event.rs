//! A status event as received: decoded, with its text.

use oee_domain::event::ReceivedEvent;
use std::ops::Deref;

/// One status event of one order, decoded into the domain's
/// [`ReceivedEvent`], with the JSON text it came as (to log or forward
/// verbatim). Derefs to the decoded event: `event.seq`, `event.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The decoded event.
    pub event: ReceivedEvent,
    /// The message exactly as the engine sent it.
    pub json: String,
}

impl Event {
    /// Decodes one event message.
    pub fn parse(json: String) -> Result<Self, crate::Error> {
        match ReceivedEvent::parse(&json) {
            Ok(event) => Ok(Self { event, json }),
            Err(e) => Err(crate::Error::unexpected(0, format_args!("not a status event ({e})"), json.as_bytes())),
        }
    }
}

impl Deref for Event {
    type Target = ReceivedEvent;

    fn deref(&self) -> &ReceivedEvent {
        &self.event
    }
}
