//! One module per subcommand, each the same shape: `Args` (its flags, whose
//! doc comments are its `--help`) and `run`, which returns how it ended.

pub mod cancel;
pub mod follow;
pub mod launch;
pub mod launches;
pub mod order;
pub mod orders;
pub mod quote;
pub mod snipe;
pub mod submit;
pub mod tokens;
pub mod trade;

use std::io::Write;

/// Writes `lines` to stdout, flushing (a follower reads them as they come).
pub fn print<I: IntoIterator<Item = S>, S: AsRef<str>>(lines: I) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{}", line.as_ref())?;
    }
    out.flush()
}

/// Writes `value` as one line of JSON.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    print([serde_json::to_string(value)?])?;
    Ok(())
}
