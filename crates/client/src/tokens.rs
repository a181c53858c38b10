//! What the engine trades: `GET /api/tokens`.

use oee_domain::Dex;
use serde::{Deserialize, Serialize};

/// What the engine trades (`GET /api/tokens`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    /// Every token the engine knows.
    pub tokens: Vec<ListedToken>,
    /// Every pair some venue lists, each direction on its own.
    pub pairs: Vec<Pair>,
}

/// One token of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedToken {
    /// Its symbol, as orders and quotes name it.
    pub symbol: String,
    /// Its mint address.
    pub mint: String,
    /// How many decimals its amounts have.
    pub decimals: u8,
}

/// A pair and the venues that list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    /// The token sold, by symbol.
    pub token_in: String,
    /// The token bought, by symbol.
    pub token_out: String,
    /// The venues with a pool for it.
    pub venues: Vec<Dex>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The token list decodes venues as the domain's [`Dex`].
    #[test]
    fn token_lists_decode() {
        let text = r#"{"tokens":[{"symbol":"SOL","mint":"So11111111111111111111111111111111111111112","decimals":9}],
            "pairs":[{"tokenIn":"SOL","tokenOut":"USDC","venues":["meteora","raydium"]}]}"#;
        let list: TokenList = serde_json::from_str(text).expect("decodes");
        assert_eq!((list.tokens[0].decimals, list.pairs[0].venues.clone()), (9, vec![Dex::Meteora, Dex::Raydium]));
        let again: Value = serde_json::to_value(&list).expect("encodes");
        assert_eq!(again, serde_json::from_str::<Value>(text).expect("json"));
    }
}
