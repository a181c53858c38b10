//! `oee follow ID`: an order's events, one JSON object per line, as the
//! engine sent them.

use crate::exit::Exit;
use anyhow::Context;
use oee_client::Client;
use uuid::Uuid;

/// Print an order's status events, one JSON object per line, until it ends.
///
/// The exit code is 0 once the stream is whole, whatever the order's outcome
/// (the last line says it; `oee trade` exits 3 for a failed order instead).
#[derive(clap::Args)]
pub struct Args {
    order_id: Uuid,
    /// Only the events after this seq (to resume).
    #[arg(long, default_value_t = 0)]
    from_seq: u32,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let mut events = client.follow_from(args.order_id, args.from_seq);
    while let Some(event) = events.next().await {
        let event = event.with_context(|| format!("following {}", args.order_id))?;
        super::print([&event.json])?;
    }
    Ok(Exit::Done)
}
