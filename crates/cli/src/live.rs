//! Following an order live, as `oee trade` and `oee snipe` do: one line per
//! status event (or the event as sent, with `--json`) until the terminal one,
//! whose status is how the command ends.

use crate::exit::Exit;
use crate::style::{Ink, Style};
use crate::timeline::{Timeline, Tokens};
use anyhow::Context;
use oee_client::{Accepted, Client};
use oee_domain::OrderStatus;

/// The flags of every command that places an order and follows it.
#[derive(clap::Args)]
pub struct Placement {
    /// A label for the order within the account (history filters by it).
    #[arg(long = "user", value_name = "ID")]
    pub user_id: Option<String>,
    /// Makes resubmitting safe: the same key and order return the same order.
    #[arg(long, value_name = "K")]
    pub idempotency_key: Option<String>,
    /// One JSON object per line: the accepted reply, then each event as sent.
    #[arg(long)]
    pub json: bool,
}

/// Prints the `accepted` reply — with `json` as the engine sent it, else the
/// line `headline` writes — then the order's events until its terminal one,
/// with `json` each as the engine sent it. Confirmed is [`Exit::Done`],
/// failed [`Exit::Failed`], cancelled or expired [`Exit::Unfilled`].
pub async fn follow(
    client: &Client,
    accepted: &Accepted,
    headline: impl FnOnce(Style) -> String,
    tokens: Tokens,
    json: bool,
) -> anyhow::Result<Exit> {
    let style = if json { Style::plain() } else { Style::detect() };
    if json {
        crate::cmd::print_json(accepted)?;
    } else {
        crate::cmd::print([headline(style)])?;
    }
    let mut timeline = Timeline::new(style, tokens);
    let mut events = client.follow(accepted.order_id);
    let mut last = None;
    while let Some(event) = events.next().await {
        let event = event.with_context(|| {
            format!(
                "following order {id} (resume with `oee follow {id} --from-seq {seq}`)",
                id = accepted.order_id,
                seq = events.last_seq()
            )
        })?;
        crate::cmd::print([if json { event.json.clone() } else { timeline.line(&event) }])?;
        last = Some(event.status);
    }
    match last {
        Some(OrderStatus::Confirmed) => Ok(Exit::Done),
        Some(OrderStatus::Failed) => Ok(Exit::Failed),
        Some(OrderStatus::Cancelled | OrderStatus::Expired) => Ok(Exit::Unfilled),
        other => {
            anyhow::bail!("the events of order {} ended without a terminal one (last: {other:?})", accepted.order_id)
        }
    }
}

/// `order 0193… accepted`, or `already accepted` for a repeated idempotency key.
pub fn headline(accepted: &Accepted, style: Style) -> String {
    let id = style.paint(Ink::Strong, accepted.order_id);
    let verb = if accepted.replayed { "already accepted (same idempotency key)" } else { "accepted" };
    format!("order {id} {verb}")
}
