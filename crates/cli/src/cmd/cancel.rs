//! `oee cancel ID`: cancel an open limit or sniper order.

use crate::exit::Exit;
use crate::style::Style;
use anyhow::Context;
use oee_client::Client;
use uuid::Uuid;

/// Cancel an open order (a limit order waiting for its price, a sniper
/// waiting for its token). An order that
/// already fired or finished is refused with NOT_CANCELLABLE (exit code 4).
#[derive(clap::Args)]
pub struct Args {
    order_id: Uuid,
    /// The cancelled order as one JSON object.
    #[arg(long)]
    json: bool,
}

pub async fn run(client: &Client, args: Args) -> anyhow::Result<Exit> {
    let order = client.cancel(args.order_id).await.with_context(|| format!("cancelling order {}", args.order_id))?;
    if args.json {
        super::print_json(&order)?;
    } else {
        super::print(super::order::render(&order, Style::detect()))?;
    }
    Ok(Exit::Done)
}
