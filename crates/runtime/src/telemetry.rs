//! Logging: human-readable by default, one JSON object per line with
//! `LOG_FORMAT=json`; filtered by `RUST_LOG` (default `info`).

use serde::{Deserialize, Deserializer, de};
use tracing_subscriber::EnvFilter;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, the event's fields flattened into it.
    Json,
}

impl LogFormat {
    /// The name `LOG_FORMAT` gives this format.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        [Self::Pretty, Self::Json]
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| de::Error::custom(format!("LOG_FORMAT must be pretty or json; got {name:?}")))
    }
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second initialisation (tests that start several services) is harmless.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
