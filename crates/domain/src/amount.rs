//! Exact decimal text ⇄ integer atoms.
//!
//! Every amount inside the engine is an integer count of a token's smallest unit
//! ("atoms": lamports for SOL, micro-USDC for USDC). Decimal text exists only at the
//! edge: [`parse_units`] turns the literal text a client sent (a JSON string or the
//! literal digits of a JSON number — never an `f64`) into atoms, and
//! [`format_units`] / [`format_ratio`] turn integers back into text.

use std::fmt;

/// Why a piece of decimal text is not an acceptable amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Not a plain decimal number (`"abc"`, `"1.2.3"`, `" 1"`, `".5"`, `"0x10"`).
    Malformed,
    /// Zero or negative.
    NotPositive,
    /// More fractional digits than the unit has (e.g. 10 decimals for SOL).
    TooManyDecimals,
    /// Does not fit in a `u64` count of atoms.
    TooLarge,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not a decimal number",
            Self::NotPositive => "must be greater than 0",
            Self::TooManyDecimals => "has more decimal places than the token allows",
            Self::TooLarge => "is too large",
        })
    }
}

/// An integer amount with the decimals of its token; serializes as decimal text
/// in whole units (`{atoms: 1_500_000_000, decimals: 9}` → `"1.5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Units {
    pub atoms: u64,
    pub decimals: u8,
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(u128::from(self.atoms), self.decimals))
    }
}

impl serde::Serialize for Units {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The largest exponent we bother to evaluate; anything beyond is either zero or
/// far out of `u64` range, and bounding it keeps parsing O(length of the text).
const MAX_EXPONENT: i64 = 1_000;

/// Parses decimal text (`"1.5"`, `"0.000001"`, `"2e3"`, `"15E-1"`) exactly into an
/// integer number of atoms, where one whole unit is `10^decimals` atoms.
///
/// Trailing zeros beyond `decimals` are accepted (`"1.50"` for a 1-decimal unit):
/// the value is still exact. A leading `-` is recognised only to report
/// [`AmountError::NotPositive`] rather than [`AmountError::Malformed`].
pub fn parse_units(text: &str, decimals: u8) -> Result<u64, AmountError> {
    parse_wide(text, decimals).and_then(|atoms| u64::try_from(atoms).map_err(|_| AmountError::TooLarge))
}

/// [`parse_units`] into a `u128`: for prices, which carry more decimals than
/// any token (see [`crate::request::PRICE_DECIMALS`]).
pub fn parse_wide(text: &str, decimals: u8) -> Result<u128, AmountError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], parse_exponent(&body[at + 1..])?),
        None => (body, 0),
    };
    let (int_digits, frac_digits) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_digits.is_empty()
        || !all_digits(int_digits)
        || (mantissa.contains('.') && frac_digits.is_empty())
        || !all_digits(frac_digits)
    {
        return Err(AmountError::Malformed);
    }

    // value = digits × 10^shift atoms, where digits = int ++ frac.
    let digits = int_digits.bytes().chain(frac_digits.bytes());
    let shift = i64::from(decimals) + exponent - frac_digits.len() as i64;
    let significant: Vec<u8> = digits.skip_while(|&b| b == b'0').map(|b| b - b'0').collect();
    if significant.is_empty() {
        return Err(AmountError::NotPositive);
    }
    if negative {
        return Err(AmountError::NotPositive);
    }

    let (kept, dropped) = if shift >= 0 {
        (&significant[..], &[][..])
    } else {
        let cut = significant.len().saturating_sub(usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX));
        significant.split_at(cut)
    };
    if dropped.iter().any(|&d| d != 0) {
        return Err(AmountError::TooManyDecimals);
    }
    let mut atoms: u128 = 0;
    for &d in kept {
        atoms = atoms.checked_mul(10).and_then(|a| a.checked_add(u128::from(d))).ok_or(AmountError::TooLarge)?;
    }
    for _ in 0..shift.max(0) {
        atoms = atoms.checked_mul(10).ok_or(AmountError::TooLarge)?;
    }
    Ok(atoms)
}

fn parse_exponent(text: &str) -> Result<i64, AmountError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::Malformed);
    }
    let magnitude = digits
        .trim_start_matches('0')
        .parse::<i64>()
        .unwrap_or(if digits.trim_start_matches('0').is_empty() { 0 } else { MAX_EXPONENT })
        .min(MAX_EXPONENT);
    Ok(if text.starts_with('-') { -magnitude } else { magnitude })
}

/// Formats atoms as decimal text in whole units, without trailing zeros:
/// `format_units(1_500_000_000, 9) == "1.5"`, `format_units(0, 6) == "0"`.
pub fn format_units(atoms: u128, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals));
    let whole = atoms / scale;
    let frac = atoms % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Formats the ratio `num / den` as decimal text, rounded down, with at least
/// `significant` significant digits (and never fewer than `significant` decimals
/// below 1), trailing zeros trimmed. Used for prices, which span from BONK's
/// 0.0000000x SOL to SOL's hundreds of USDC.
///
/// Returns `"0"` when `den` is zero (no meaningful price) or `num` is zero.
pub fn format_ratio(num: u128, den: u128, significant: u32) -> String {
    if den == 0 || num == 0 {
        return "0".to_owned();
    }
    let whole = num / den;
    let mut rem = num % den;
    let mut out = whole.to_string();
    let mut frac = String::new();
    // Count significant digits already emitted by the integer part.
    let mut sig = if whole > 0 { u32::try_from(out.len()).unwrap_or(u32::MAX) } else { 0 };
    let min_frac = 6u32;
    let mut emitted = 0u32;
    // Long division: `rem < den`, so `rem * 10` cannot overflow for den < u128::MAX / 10.
    while rem != 0 && (emitted < min_frac || sig < significant) && emitted < 40 {
        rem *= 10;
        let digit = rem / den;
        rem %= den;
        // `digit < 10` because `rem < den` before the multiplication.
        frac.push(char::from_digit(u32::try_from(digit).unwrap_or(0), 10).unwrap_or('0'));
        emitted += 1;
        if sig > 0 || digit != 0 {
            sig += 1;
        }
    }
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimal_text() {
        assert_eq!(parse_units("1.5", 9), Ok(1_500_000_000));
        assert_eq!(parse_units("0.000000001", 9), Ok(1));
        assert_eq!(parse_units("100", 6), Ok(100_000_000));
        assert_eq!(parse_units("007.50", 2), Ok(750));
        assert_eq!(parse_units("1.50000000000", 9), Ok(1_500_000_000));
        assert_eq!(parse_units("2e3", 0), Ok(2000));
        assert_eq!(parse_units("15E-1", 1), Ok(15));
        assert_eq!(parse_units("1.5e+2", 0), Ok(150));
        assert_eq!(parse_units("18446744073709551615", 0), Ok(u64::MAX));
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        for text in
            ["", " 1", "1 ", "+1", ".5", "5.", "1.2.3", "0x10", "1e", "1e+", "NaN", "inf", "1_000", "1,5", "--1"]
        {
            assert_eq!(parse_units(text, 9), Err(AmountError::Malformed), "{text:?}");
        }
    }

    #[test]
    fn classifies_out_of_range_values() {
        assert_eq!(parse_units("0", 9), Err(AmountError::NotPositive));
        assert_eq!(parse_units("0.000", 9), Err(AmountError::NotPositive));
        assert_eq!(parse_units("-1", 9), Err(AmountError::NotPositive));
        assert_eq!(parse_units("-0", 9), Err(AmountError::NotPositive));
        assert_eq!(parse_units("0e99999999999999999999", 9), Err(AmountError::NotPositive));
        assert_eq!(parse_units("0.0000000001", 9), Err(AmountError::TooManyDecimals));
        assert_eq!(parse_units("1e-10", 9), Err(AmountError::TooManyDecimals));
        assert_eq!(parse_units("18446744073709551616", 0), Err(AmountError::TooLarge));
        assert_eq!(parse_units("18446744073.709551616", 9), Err(AmountError::TooLarge));
        assert_eq!(parse_units("1e99999999999999999999", 0), Err(AmountError::TooLarge));
    }

    #[test]
    fn formats_units_without_trailing_zeros() {
        assert_eq!(format_units(1_500_000_000, 9), "1.5");
        assert_eq!(format_units(1, 9), "0.000000001");
        assert_eq!(format_units(0, 6), "0");
        assert_eq!(format_units(42, 0), "42");
        assert_eq!(format_units(3_750_000, 9), "0.00375");
    }

    #[test]
    fn formats_ratios_with_enough_significant_digits() {
        // 231.402117 USDC for 1.5 SOL, in atoms: 231_402_117 * 10^9 / (1_500_000_000 * 10^6)
        assert_eq!(format_ratio(231_402_117 * 1_000_000_000, 1_500_000_000 * 1_000_000, 9), "154.268078");
        assert_eq!(format_ratio(1, 3, 6), "0.333333");
        assert_eq!(format_ratio(1, 30_000_000, 6), "0.0000000333333");
        assert_eq!(format_ratio(3, 2, 6), "1.5");
        assert_eq!(format_ratio(0, 2, 6), "0");
        assert_eq!(format_ratio(5, 0, 6), "0");
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(atoms in 1u64.., decimals in 0u8..=12) {
            let text = format_units(u128::from(atoms), decimals);
            proptest::prop_assert_eq!(parse_units(&text, decimals), Ok(atoms));
        }
    }
}
