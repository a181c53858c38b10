//! What both services share at start-up: settings, logging and the stop signal,
//! and the retry policy the settings describe.

pub mod metrics;
pub mod retry;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use retry::RetryPolicy;
pub use settings::{AuthMode, Settings};
pub use telemetry::LogFormat;

use std::process::ExitCode;

/// Ends a binary: a failure is printed as one line with its causes
/// (`oee-api: error: binding 127.0.0.1:8080: Address in use`), not as a backtrace.
pub fn exit(program: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "{program} stopped");
            eprintln!("{program}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
