//! `--slippage`: a tolerance written as a percentage or in basis points.
//!
//! `0.5%` and `50bps` both mean 50 basis points. A bare number is refused:
//! `0.5` reads as half a percent to one trader and as a fraction (50%) to
//! another, and the contract's own `slippage` alias takes a fraction, so
//! guessing would sooner or later place an order with a tolerance nobody
//! meant. The range (1..=5000 bps) is the engine's to check, as for any client.

use std::fmt;
use std::str::FromStr;

/// A slippage tolerance, in basis points (1 bps = 0.01%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slippage(u32);

impl Slippage {
    pub const fn bps(self) -> u32 {
        self.0
    }
}

/// Why a `--slippage` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlippageError {
    #[error("`{0}` is ambiguous: write a percentage (`0.5%`) or basis points (`50bps`)")]
    Bare(String),
    #[error("{0} is finer than a basis point (0.01%)")]
    TooFine(String),
    #[error("too large")]
    TooLarge,
    #[error("expected a percentage (`0.5%`) or basis points (`50bps`)")]
    Malformed,
}

impl FromStr for Slippage {
    type Err = SlippageError;

    /// Reads `0.5%` (up to two decimals) or `50bps` (also `50 bps`, `50bp`),
    /// exactly: no float is involved.
    fn from_str(text: &str) -> Result<Self, SlippageError> {
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            return percent_to_bps(percent.trim_end(), text).map(Self);
        }
        let lower = text.to_ascii_lowercase();
        if let Some(bps) = lower.strip_suffix("bps").or_else(|| lower.strip_suffix("bp")) {
            let bps = bps.trim_end();
            if !is_digits(bps) {
                return Err(SlippageError::Malformed);
            }
            return bps.parse().map(Self).map_err(|_| SlippageError::TooLarge);
        }
        match text.split_once('.') {
            None if is_digits(text) => Err(SlippageError::Bare(text.to_owned())),
            Some((whole, fraction)) if is_digits(whole) && is_digits(fraction) => {
                Err(SlippageError::Bare(text.to_owned()))
            }
            _ => Err(SlippageError::Malformed),
        }
    }
}

impl fmt::Display for Slippage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bps", self.0)
    }
}

/// `slippage 50 bps`, or `default slippage` when the engine chooses.
pub fn describe(bps: Option<u32>) -> String {
    bps.map_or_else(|| "default slippage".to_owned(), |bps| format!("slippage {bps} bps"))
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `0.5` (percent) as 50 bps: whole percents times 100 plus hundredths;
/// digits past the second decimal must be zeros.
fn percent_to_bps(percent: &str, original: &str) -> Result<u32, SlippageError> {
    let (whole, fraction) = percent.split_once('.').unwrap_or((percent, ""));
    if !is_digits(whole) || !(fraction.is_empty() || is_digits(fraction)) {
        return Err(SlippageError::Malformed);
    }
    let (hundredths, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(SlippageError::TooFine(original.to_owned()));
    }
    let whole: u32 = whole.parse().map_err(|_| SlippageError::TooLarge)?;
    let hundredths: u32 = format!("{hundredths:0<2}").parse().map_err(|_| SlippageError::Malformed)?;
    whole.checked_mul(100).and_then(|bps| bps.checked_add(hundredths)).ok_or(SlippageError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bps(text: &str) -> Result<u32, SlippageError> {
        text.parse::<Slippage>().map(Slippage::bps)
    }

    /// Percentages and basis points read exactly.
    #[test]
    fn percentages_and_basis_points() {
        assert_eq!(bps("0.5%"), Ok(50));
        assert_eq!(bps("1%"), Ok(100));
        assert_eq!(bps("0.01%"), Ok(1));
        assert_eq!(bps("12.3%"), Ok(1230));
        assert_eq!(bps("0.500%"), Ok(50));
        assert_eq!(bps(" 0.5 %"), Ok(50));
        assert_eq!(bps("50bps"), Ok(50));
        assert_eq!(bps("50 BPS"), Ok(50));
        assert_eq!(bps("1bp"), Ok(1));
        // The engine refuses 0 and anything over 5000 bps, as for any client.
        assert_eq!(bps("0%"), Ok(0));
        assert_eq!(bps("100%"), Ok(10_000));
    }

    /// A bare number is refused with the two forms it could have meant.
    #[test]
    fn bare_numbers_are_ambiguous() {
        assert_eq!(bps("0.5"), Err(SlippageError::Bare("0.5".into())));
        assert_eq!(bps("50"), Err(SlippageError::Bare("50".into())));
        let message = SlippageError::Bare("0.5".into()).to_string();
        assert!(message.contains("`0.5%`") && message.contains("`50bps`"), "{message}");
    }

    /// Anything else is malformed, too fine, or too large; never rounded.
    #[test]
    fn the_rest_is_refused() {
        assert_eq!(bps("0.505%"), Err(SlippageError::TooFine("0.505%".into())));
        assert_eq!(bps("%"), Err(SlippageError::Malformed));
        assert_eq!(bps(".5%"), Err(SlippageError::Malformed));
        assert_eq!(bps("-1%"), Err(SlippageError::Malformed));
        assert_eq!(bps("1e2bps"), Err(SlippageError::Malformed));
        assert_eq!(bps("0.5bps"), Err(SlippageError::Malformed));
        assert_eq!(bps("half"), Err(SlippageError::Malformed));
        assert_eq!(bps("99999999999%"), Err(SlippageError::TooLarge));
        assert_eq!(bps("99999999999bps"), Err(SlippageError::TooLarge));
    }
}
