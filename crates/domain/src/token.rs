//! The token registry: symbols, mints and decimals.
//!
//! Native SOL and wrapped SOL share one mint; they differ only in whether the
//! executed transaction must wrap SOL before the swap (or unwrap after it). A mint
//! given on its own names the wrapped token, since that is what the mint is.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The mint shared by native SOL and wrapped SOL.
pub const WSOL_MINT: &str = "So11111111111111111111111111111111111111112";

/// One token the engine can trade.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Token {
    /// Canonical upper-case symbol, e.g. `SOL`.
    pub symbol: String,
    /// The SPL mint address (base58).
    pub mint: String,
    /// Atoms per whole unit are `10^decimals`.
    pub decimals: u8,
    /// True only for native SOL, which is wrapped into wSOL for the swap.
    #[serde(default)]
    pub native: bool,
}

/// Tokens by symbol and by mint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TokenRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tokens: Vec<Token>,
    by_symbol: HashMap<String, usize>,
    by_mint: HashMap<String, usize>,
}

/// Why a registry could not be built from configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("token symbol {0:?} is listed twice")]
    DuplicateSymbol(String),
    #[error("token {symbol:?}: {reason}")]
    Invalid { symbol: String, reason: &'static str },
}

fn builtin() -> Vec<Token> {
    let t = |symbol: &str, mint: &str, decimals, native| Token {
        symbol: symbol.to_owned(),
        mint: mint.to_owned(),
        decimals,
        native,
    };
    vec![
        t("SOL", WSOL_MINT, 9, true),
        t("WSOL", WSOL_MINT, 9, false),
        t("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6, false),
        t("USDT", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6, false),
        t("BONK", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5, false),
        t("JUP", "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6, false),
        t("RAY", "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R", 6, false),
    ]
}

/// The one native token: SOL, wrapped into wSOL for a swap.
pub const NATIVE_SYMBOL: &str = "SOL";

impl Token {
    /// Rebuilds a token from what an order row stores. Only SOL is native.
    pub fn stored(symbol: String, mint: String, decimals: u8) -> Self {
        let native = symbol == NATIVE_SYMBOL;
        Self { symbol, mint, decimals, native }
    }
}

impl Default for TokenRegistry {
    fn default() -> Self {
        Self::with_extra(Vec::new()).expect("the built-in token list is valid")
    }
}

impl TokenRegistry {
    /// The built-in tokens plus `extra` ones from configuration.
    pub fn with_extra(extra: Vec<Token>) -> Result<Self, RegistryError> {
        let mut tokens = builtin();
        for mut token in extra {
            token.symbol = token.symbol.to_ascii_uppercase();
            let invalid = |reason| RegistryError::Invalid { symbol: token.symbol.clone(), reason };
            if !valid_symbol(&token.symbol) {
                return Err(invalid("symbol must be 1–16 letters or digits"));
            }
            if !valid_mint(&token.mint) {
                return Err(invalid("mint must be a base58 address"));
            }
            if token.decimals > 18 {
                return Err(invalid("decimals must be at most 18"));
            }
            if token.native {
                return Err(invalid("only SOL is native"));
            }
            tokens.push(token);
        }
        let mut by_symbol = HashMap::new();
        let mut by_mint = HashMap::new();
        for (i, token) in tokens.iter().enumerate() {
            if by_symbol.insert(token.symbol.clone(), i).is_some() {
                return Err(RegistryError::DuplicateSymbol(token.symbol.clone()));
            }
            // The first token listed for a mint is the one the mint names (wSOL's
            // mint names WSOL, not native SOL — see below).
            if !token.native {
                by_mint.entry(token.mint.clone()).or_insert(i);
            }
        }
        Ok(Self { inner: Arc::new(Inner { tokens, by_symbol, by_mint }) })
    }

    /// This registry with `launched` tokens added (those whose symbol or mint
    /// it already knows are skipped: the first listing of a name holds).
    pub fn with_launched(&self, launched: impl IntoIterator<Item = Token>) -> Self {
        let mut inner = Inner {
            tokens: self.inner.tokens.clone(),
            by_symbol: self.inner.by_symbol.clone(),
            by_mint: self.inner.by_mint.clone(),
        };
        for token in launched {
            if inner.by_symbol.contains_key(&token.symbol) || inner.by_mint.contains_key(&token.mint) {
                continue;
            }
            let i = inner.tokens.len();
            inner.by_symbol.insert(token.symbol.clone(), i);
            inner.by_mint.insert(token.mint.clone(), i);
            inner.tokens.push(token);
        }
        Self { inner: Arc::new(inner) }
    }

    /// Looks a token up by symbol (any case) or by mint address.
    pub fn resolve(&self, name: &str) -> Option<&Token> {
        let inner = &*self.inner;
        let index = inner.by_mint.get(name).or_else(|| inner.by_symbol.get(&name.to_ascii_uppercase()))?;
        inner.tokens.get(*index)
    }

    /// Looks a token up by its canonical symbol, as stored on an order.
    pub fn by_symbol(&self, symbol: &str) -> Option<&Token> {
        self.inner.by_symbol.get(symbol).and_then(|&i| self.inner.tokens.get(i))
    }

    /// Every registered token.
    pub fn tokens(&self) -> &[Token] {
        &self.inner.tokens
    }
}

/// Whether `s` can be a token symbol: 1–16 ASCII letters or digits.
pub fn valid_symbol(s: &str) -> bool {
    (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` can be a mint address: 32–44 characters of base58.
pub fn valid_mint(s: &str) -> bool {
    (32..=44).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_symbols_in_any_case_and_mints() {
        let reg = TokenRegistry::default();
        assert_eq!(reg.resolve("sol").map(|t| t.symbol.as_str()), Some("SOL"));
        assert_eq!(reg.resolve("Usdc").map(|t| t.decimals), Some(6));
        assert_eq!(reg.resolve(WSOL_MINT).map(|t| t.symbol.as_str()), Some("WSOL"));
        assert_eq!(
            reg.resolve("DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263").map(|t| t.symbol.as_str()),
            Some("BONK")
        );
        assert!(reg.resolve("DOGE").is_none());
        assert!(reg.resolve("").is_none());
    }

    #[test]
    fn extends_from_configuration_and_rejects_bad_entries() {
        let wif = Token {
            symbol: "wif".into(),
            mint: "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm".into(),
            decimals: 6,
            native: false,
        };
        let reg = TokenRegistry::with_extra(vec![wif.clone()]).expect("valid");
        assert_eq!(reg.resolve("WIF").map(|t| t.decimals), Some(6));

        let dup = Token { symbol: "usdc".into(), ..wif.clone() };
        assert_eq!(TokenRegistry::with_extra(vec![dup]).err(), Some(RegistryError::DuplicateSymbol("USDC".into())));
        let bad_mint = Token { mint: "0OIl".into(), ..wif };
        assert!(matches!(TokenRegistry::with_extra(vec![bad_mint]), Err(RegistryError::Invalid { .. })));
    }
}
