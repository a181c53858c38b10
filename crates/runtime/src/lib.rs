//! What both services share at start-up: settings, logging and the stop signal.

pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use settings::Settings;
