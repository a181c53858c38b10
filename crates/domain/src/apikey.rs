//! API keys and their scopes: the format of a key, checked before any lookup,
//! and what each scope allows.
//!
//! A key reads `oee_` + 34 random base62 characters + a 6-character base62
//! CRC-32 of everything before it, e.g. `oee_7Qm…kZ03Xb1c`. The prefix makes a
//! leaked key recognisable to secret scanners; the checksum lets a mistyped or
//! truncated key be refused without a database round trip. A key is stored only
//! as a hash (the store's business); this module never sees one stored.

use std::fmt;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "oee_";
/// Random characters after the prefix: 34 base62 characters, ~202 bits.
pub const KEY_RANDOM_LEN: usize = 34;
/// Checksum characters at the end.
pub const KEY_CHECKSUM_LEN: usize = 6;
/// A key's whole length.
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_RANDOM_LEN + KEY_CHECKSUM_LEN;
/// The characters of the random part and the checksum.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a text is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("an API key starts with {KEY_PREFIX:?}")]
    Prefix,
    #[error("an API key is {KEY_LEN} characters long")]
    Length,
    #[error("an API key holds only letters and digits after its prefix")]
    Alphabet,
    #[error("the API key's checksum does not match: mistyped or truncated")]
    Checksum,
}

/// A well-formed key (its checksum holds). Whether it exists is the store's question.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks `text`'s prefix, length, alphabet and checksum.
    pub fn parse(text: &str) -> Result<Self, KeyFormatError> {
        let rest = text.strip_prefix(KEY_PREFIX).ok_or(KeyFormatError::Prefix)?;
        if text.len() != KEY_LEN {
            return Err(KeyFormatError::Length);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Alphabet);
        }
        let (body, checksum) = text.split_at(KEY_LEN - KEY_CHECKSUM_LEN);
        if checksum != checksum_of(body) {
            return Err(KeyFormatError::Checksum);
        }
        Ok(Self(text.to_owned()))
    }

    /// The key made of `random` (base62 characters, [`KEY_RANDOM_LEN`] of them:
    /// the caller draws them) and its checksum.
    pub fn from_random(random: &str) -> Result<Self, KeyFormatError> {
        let body = format!("{KEY_PREFIX}{random}");
        Self::parse(&format!("{body}{}", checksum_of(&body)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never prints the key itself: only its prefix, so logs stay safe.
impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({KEY_PREFIX}…)")
    }
}

/// The CRC-32 of `body` in base62, zero-padded to [`KEY_CHECKSUM_LEN`].
fn checksum_of(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut digits = [b'0'; KEY_CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Submit and cancel orders, and everything `read` allows.
    Trade,
    /// Quotes, tokens, the account's own orders and streams.
    Read,
    /// Key management, queue stats, simulator control; implies the others.
    Admin,
}

#[cfg(feature = "openapi")]
wire_names_schema!(Scope, "What a key may do: trade (submit, cancel, and read), read, admin (everything).");

impl Scope {
    /// In the order they are listed.
    pub const ALL: [Self; 3] = [Self::Trade, Self::Read, Self::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Trade => "trade",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::Trade => 2,
            Self::Admin => 4,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes a key holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// What a key gets when its creator names none.
    pub const DEFAULT: Self = Self(Scope::Read.bit() | Scope::Trade.bit());

    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// Reads a comma-separated list (`trade,read`); an unknown name is refused.
    pub fn parse_list(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| format!("unknown scope {s:?} (read, trade, admin)")))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    /// Whether a key with these scopes may do what `needed` guards: `admin`
    /// implies every scope, `trade` implies `read`.
    pub const fn allows(self, needed: Scope) -> bool {
        let held = if self.0 & Scope::Admin.bit() != 0 {
            Scope::Admin.bit() | Scope::Trade.bit() | Scope::Read.bit()
        } else if self.0 & Scope::Trade.bit() != 0 {
            self.0 | Scope::Read.bit()
        } else {
            self.0
        };
        held & needed.bit() != 0
    }

    /// The scopes held, in a fixed order (as stored and shown).
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.0 & s.bit() != 0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "0123456789abcdefghijABCDEFGHIJklmn";

    #[test]
    fn a_key_made_from_random_characters_parses_back() {
        let key = ApiKey::from_random(RANDOM).expect("well formed");
        assert_eq!(key.as_str().len(), KEY_LEN);
        assert!(key.as_str().starts_with("oee_0123"));
        assert_eq!(ApiKey::parse(key.as_str()), Ok(key.clone()));
        assert_eq!(format!("{key:?}"), "ApiKey(oee_…)", "never printed");
    }

    #[test]
    fn a_malformed_key_is_refused_with_its_reason() {
        let key = ApiKey::from_random(RANDOM).expect("well formed");
        let text = key.as_str();
        assert_eq!(ApiKey::parse(&text.replace("oee_", "eoe_")), Err(KeyFormatError::Prefix));
        assert_eq!(ApiKey::parse(&text[..KEY_LEN - 1]), Err(KeyFormatError::Length));
        assert_eq!(ApiKey::parse(&format!("{text}x")), Err(KeyFormatError::Length));
        let mut bad = text.to_owned();
        bad.replace_range(10..11, "-");
        assert_eq!(ApiKey::parse(&bad), Err(KeyFormatError::Alphabet));
        // One character mistyped in the random part: the checksum catches it.
        let mut typo = text.to_owned();
        let c = if &text[10..11] == "a" { "b" } else { "a" };
        typo.replace_range(10..11, c);
        assert_eq!(ApiKey::parse(&typo), Err(KeyFormatError::Checksum));
        assert_eq!(ApiKey::from_random("short"), Err(KeyFormatError::Length));
    }

    #[test]
    fn admin_implies_every_scope_and_trade_implies_read() {
        let admin = Scopes::new([Scope::Admin]);
        assert!(Scope::ALL.into_iter().all(|s| admin.allows(s)));
        let trade = Scopes::new([Scope::Trade]);
        assert!(trade.allows(Scope::Read) && trade.allows(Scope::Trade) && !trade.allows(Scope::Admin));
        let read = Scopes::new([Scope::Read]);
        assert!(read.allows(Scope::Read) && !read.allows(Scope::Trade));
        assert!(!Scopes::default().allows(Scope::Read));
    }

    #[test]
    fn scope_lists_parse_and_refuse_unknown_names() {
        assert_eq!(Scopes::parse_list("trade, read"), Ok(Scopes::DEFAULT));
        assert_eq!(Scopes::parse_list("admin").map(|s| s.iter().collect::<Vec<_>>()), Ok(vec![Scope::Admin]));
        assert!(Scopes::parse_list("trade,root").is_err());
        assert_eq!(Scopes::DEFAULT.iter().map(Scope::as_str).collect::<Vec<_>>(), ["trade", "read"]);
    }
}
