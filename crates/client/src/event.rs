//! A status event as received: decoded, with its text.

use oee_domain::event::ReceivedEvent;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::ops::Deref;

/// One status event of one order, decoded into the domain's
/// [`ReceivedEvent`], with the JSON text it came as (to log or forward
/// verbatim). Derefs to the decoded event: `event.seq`, `event.status`.
///
/// As a field of a larger body (an order's `events`) it decodes from that
/// event's JSON and serializes back to exactly that text, so fields this
/// client does not know are passed on rather than dropped.
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

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let event = ReceivedEvent::parse(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(Self { event, json: raw.get().to_owned() })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.json).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event inside a larger body keeps its exact text, fields this client
    /// does not know included, and writes it back unchanged.
    #[test]
    fn events_round_trip_verbatim() {
        let text = r#"{"events":[{"orderId":"0193b0c4-0000-7000-8000-000000000001","seq":2,"status":"routing","at":"2026-11-21T10:00:00.007Z","attempt":1,"fromTheFuture":{"slot":7}}]}"#;
        #[derive(Deserialize, Serialize)]
        struct Body {
            events: Vec<Event>,
        }
        let body: Body = serde_json::from_str(text).expect("decodes");
        assert_eq!((body.events[0].seq, body.events[0].attempt), (2, Some(1)));
        assert_eq!(serde_json::to_string(&body).expect("encodes"), text);
        assert!(serde_json::from_str::<Body>(r#"{"events":[{"seq":1}]}"#).is_err(), "not an event");
    }
}
