//! Colour for people, plain text for pipes.
//!
//! Colour is on when stdout is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>). Text is padded before it is painted, so columns
//! line up either way.

use std::fmt;
use std::io::IsTerminal;

/// Whether to paint, decided once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

/// What a piece of text is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    /// Success: `confirmed`, amounts received.
    Good,
    /// Failure: `failed`, error codes.
    Bad,
    /// Work in progress: `routing`, `building`.
    Busy,
    /// Waiting on the chain: `submitted`.
    Waiting,
    /// Secondary: timings, ids, `pending`.
    Faint,
    /// Headings and the figures that matter.
    Strong,
}

impl Ink {
    const fn code(self) -> &'static str {
        match self {
            Self::Good => "1;32",
            Self::Bad => "1;31",
            Self::Busy => "36",
            Self::Waiting => "33",
            Self::Faint => "2",
            Self::Strong => "1",
        }
    }
}

impl Style {
    /// Colour on a terminal unless `NO_COLOR` says otherwise.
    pub fn detect() -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { colour: std::io::stdout().is_terminal() && !no_colour }
    }

    /// Never any colour (pipes, `--json`, tests).
    pub const fn plain() -> Self {
        Self { colour: false }
    }

    /// `text` in `ink`'s colour, or as is.
    pub fn paint(self, ink: Ink, text: impl fmt::Display) -> String {
        if self.colour { format!("\x1b[{}m{text}\x1b[0m", ink.code()) } else { text.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain output carries no escape sequence; colour wraps and resets.
    #[test]
    fn plain_is_plain() {
        assert_eq!(Style::plain().paint(Ink::Good, "confirmed"), "confirmed");
        assert_eq!(Style { colour: true }.paint(Ink::Bad, "failed"), "\x1b[1;31mfailed\x1b[0m");
    }
}
