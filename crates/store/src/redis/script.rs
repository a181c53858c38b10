//! A Lua script sent by its SHA (`EVALSHA`) once known, not by its text on
//! every call: Redis then neither receives nor hashes the text each time.
//!
//! A node that lacks the script (a restarted Redis, a cluster primary that has
//! not run it yet, a promoted replica) answers `NOSCRIPT`; the script is then
//! run by its text (`EVAL`), which also caches it on that node. The SHA is
//! learned from the first `SCRIPT LOAD`, and is the same on every node.

use crate::error::StoreError;
use fred::interfaces::LuaInterface;
use fred::prelude::*;
use fred::types::{FromValue, MultipleKeys, MultipleValues};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone)]
pub struct Script {
    text: &'static str,
    /// Once loaded.
    sha: Arc<Mutex<Option<String>>>,
}

impl Script {
    pub fn new(text: &'static str) -> Self {
        Self { text, sha: Arc::default() }
    }

    /// Runs the script with `keys` and `args`.
    pub async fn run<R, K, A>(&self, client: &Client, keys: K, args: A) -> Result<R, StoreError>
    where
        R: FromValue,
        K: Into<MultipleKeys> + Clone + Send,
        A: TryInto<MultipleValues> + Clone + Send,
        A::Error: Into<Error> + Send,
    {
        let sha = self.sha.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match sha {
            Some(sha) => match client.evalsha(sha, keys.clone(), args.clone()).await {
                Err(e) if e.details().starts_with("NOSCRIPT") => self.by_text(client, keys, args).await,
                other => Ok(other?),
            },
            None => self.by_text(client, keys, args).await,
        }
    }

    async fn by_text<R, K, A>(&self, client: &Client, keys: K, args: A) -> Result<R, StoreError>
    where
        R: FromValue,
        K: Into<MultipleKeys> + Send,
        A: TryInto<MultipleValues> + Send,
        A::Error: Into<Error> + Send,
    {
        let reply = client.eval(self.text, keys, args).await?;
        let known = self.sha.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        if !known {
            let sha: String = client.script_load(self.text).await?;
            *self.sha.lock().unwrap_or_else(PoisonError::into_inner) = Some(sha);
        }
        Ok(reply)
    }
}
