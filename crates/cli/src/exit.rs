//! How `oee` ends: one exit code per outcome a script may want to tell apart.
//!
//! The codes are part of the CLI's interface (the README and `--help` list
//! them): never renumber one.

use oee_client::Error;
use std::io::Write;

/// The table `--help` prints, in the same words as the README.
pub const TABLE: &str = "\
Exit codes:
  0  done: the order confirmed (trade, snipe), or the request succeeded
  1  anything else (an answer outside the contract, a local I/O error)
  2  usage: a bad flag or argument (e.g. --slippage 0.5 without % or bps)
  3  failed: the order was accepted and ended `failed`
  4  rejected: the engine refused the request (4xx: UNKNOWN_TOKEN, NO_ROUTE, ORDER_NOT_FOUND, ...)
  5  unauthenticated or forbidden (401, 403): no key, a bad key, or a missing scope
  6  unavailable: no answer (connection refused, timeout), 5xx such as 503 UNAVAILABLE
     or OVERLOADED, or 429 RATE_LIMITED; trying again later may succeed
  7  unfilled: the order was accepted and ended `cancelled` or `expired` (snipe)";

/// An outcome, numbered as the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    Other = 1,
    Usage = 2,
    Failed = 3,
    Rejected = 4,
    Unauthorized = 5,
    Unavailable = 6,
    Unfilled = 7,
}

impl Exit {
    /// The outcome a client error stands for.
    pub fn of(error: &Error) -> Self {
        match error {
            Error::InvalidUrl(_) | Error::InvalidApiKey => Self::Usage,
            _ if error.is_retryable() => Self::Unavailable,
            _ => match error.status() {
                Some(401 | 403) => Self::Unauthorized,
                Some(400..=499) if error.code().is_some() => Self::Rejected,
                _ => Self::Other,
            },
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit as u8)
    }
}

/// Prints why a command stopped on stderr and names its exit code.
///
/// The message is the context the command added ("submitting the order"),
/// then the client's error, which starts with the HTTP status and the
/// contract's code (`HTTP 400: UNKNOWN_TOKEN: …`) so a script can grep it.
pub fn report(error: &anyhow::Error, has_key: bool) -> Exit {
    let mut exit = Exit::Other;
    let mut words = Vec::new();
    for cause in error.chain() {
        if let Some(client) = cause.downcast_ref::<Error>() {
            exit = Exit::of(client);
            words.push(client.to_string());
            break;
        }
        if cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
            // The reader went away (`oee orders | head`): nobody is left to tell.
            return Exit::Other;
        }
        words.push(cause.to_string());
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", words.join(": "));
    if exit == Exit::Unauthorized && !has_key {
        let _ = writeln!(stderr, "hint: set OEE_API_KEY (or pass --key) to the API key to present");
    }
    exit
}

#[cfg(test)]
mod tests {
    use super::*;
    use oee_client::{ErrorBody, TransportError};
    use oee_domain::ErrorCode;

    fn refused(status: u16, code: ErrorCode) -> Error {
        Error::Api { status, body: ErrorBody { code, message: String::new(), field: None }, retry_after: None }
    }

    /// Every kind of failure lands on its documented code.
    #[test]
    fn errors_map_to_their_exit_codes() {
        assert_eq!(Exit::of(&refused(400, ErrorCode::UnknownToken)), Exit::Rejected);
        assert_eq!(Exit::of(&refused(404, ErrorCode::OrderNotFound)), Exit::Rejected);
        assert_eq!(Exit::of(&refused(422, ErrorCode::NoRoute)), Exit::Rejected);
        assert_eq!(Exit::of(&refused(401, ErrorCode::Unauthenticated)), Exit::Unauthorized);
        assert_eq!(Exit::of(&refused(403, ErrorCode::Forbidden)), Exit::Unauthorized);
        assert_eq!(Exit::of(&refused(429, ErrorCode::RateLimited)), Exit::Unavailable);
        assert_eq!(Exit::of(&refused(503, ErrorCode::Unavailable)), Exit::Unavailable);
        assert_eq!(Exit::of(&refused(503, ErrorCode::Overloaded)), Exit::Unavailable);
        let refused_connection = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Exit::of(&Error::Transport(TransportError::new(refused_connection))), Exit::Unavailable);
        assert_eq!(Exit::of(&Error::InvalidUrl("x".into())), Exit::Usage);
        assert_eq!(Exit::of(&Error::UnexpectedResponse { status: 200, detail: String::new() }), Exit::Other);
        assert_eq!(Exit::of(&Error::UnexpectedResponse { status: 502, detail: String::new() }), Exit::Unavailable);
        assert_eq!(Exit::of(&Error::UnexpectedResponse { status: 404, detail: String::new() }), Exit::Other);
    }

    /// The numbers are the documented ones.
    #[test]
    fn codes_are_stable() {
        let codes = [
            Exit::Done,
            Exit::Other,
            Exit::Usage,
            Exit::Failed,
            Exit::Rejected,
            Exit::Unauthorized,
            Exit::Unavailable,
            Exit::Unfilled,
        ];
        assert_eq!(codes.map(|e| e as u8), [0, 1, 2, 3, 4, 5, 6, 7]);
        for code in codes {
            assert!(TABLE.contains(&format!("\n  {}  ", code as u8)), "{code:?} is in the table");
        }
    }
}
