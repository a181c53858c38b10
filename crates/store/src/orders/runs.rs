//! The columns of a batch of event *runs*, as `OrderStore::record_many` sends
//! them: per run, the order row's new values and its guard; per event, its row
//! in the log.

use super::to_i32;
use chrono::{DateTime, Utc};
use oee_domain::{ErrorInfo, EventDetail, OrderStatus, RecordedEvent, RouteRecord};
use tokio_postgres::types::Json;
use uuid::Uuid;

/// The statuses an order may move to `status` from, comma-separated (statuses
/// contain no commas), for `string_to_array` in SQL.
fn predecessor_list(status: OrderStatus) -> &'static str {
    static LISTS: std::sync::LazyLock<Vec<(OrderStatus, String)>> = std::sync::LazyLock::new(|| {
        OrderStatus::ALL
            .into_iter()
            .map(|s| {
                let list: Vec<&str> = OrderStatus::predecessors(s).into_iter().map(OrderStatus::as_str).collect();
                (s, list.join(","))
            })
            .collect()
    });
    LISTS.iter().find(|(s, _)| *s == status).map_or("", |(_, list)| list.as_str())
}

/// Whether `run` is one order's events, seq +1 each, every status change legal.
/// (An illegal run is a caller's bug: it is refused without being sent.)
pub(super) fn is_consecutive(run: &[RecordedEvent]) -> bool {
    !run.is_empty()
        && run.windows(2).all(|w| {
            let (a, b) = (&w[0].event, &w[1].event);
            a.order_id == b.order_id && b.seq == a.seq + 1 && a.status().can_transition_to(b.status())
        })
}

/// Per run: the order row's new values (the run's last event, and every field
/// any of its events sets) and the guard (its first event).
pub(super) struct RunColumns<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) statuses: Vec<&'static str>,
    pub(super) first_seqs: Vec<i32>,
    pub(super) last_seqs: Vec<i32>,
    pub(super) ats: Vec<DateTime<Utc>>,
    pub(super) attempts: Vec<Option<i32>>,
    pub(super) routes: Vec<Option<Json<&'a RouteRecord>>>,
    pub(super) tx_hashes: Vec<Option<&'a str>>,
    pub(super) prices: Vec<Option<&'a str>>,
    pub(super) amounts_out: Vec<Option<String>>,
    pub(super) errors: Vec<Option<Json<&'a ErrorInfo>>>,
    pub(super) predecessors: Vec<&'static str>,
}

impl<'a> RunColumns<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        Self {
            ids: Vec::with_capacity(n),
            statuses: Vec::with_capacity(n),
            first_seqs: Vec::with_capacity(n),
            last_seqs: Vec::with_capacity(n),
            ats: Vec::with_capacity(n),
            attempts: Vec::with_capacity(n),
            routes: Vec::with_capacity(n),
            tx_hashes: Vec::with_capacity(n),
            prices: Vec::with_capacity(n),
            amounts_out: Vec::with_capacity(n),
            errors: Vec::with_capacity(n),
            predecessors: Vec::with_capacity(n),
        }
    }

    pub(super) fn push(&mut self, run: &'a [RecordedEvent]) {
        let (Some(first), Some(last)) = (run.first().map(|r| &r.event), run.last().map(|r| &r.event)) else {
            return;
        };
        self.ids.push(last.order_id);
        self.statuses.push(last.status().as_str());
        self.first_seqs.push(to_i32(first.seq));
        self.last_seqs.push(to_i32(last.seq));
        self.ats.push(last.at);
        self.predecessors.push(predecessor_list(first.status()));
        let (mut attempt, mut route, mut tx_hash, mut price, mut amount_out, mut error) =
            (None, None, None, None, None, None);
        for RecordedEvent { event, .. } in run {
            match &event.detail {
                EventDetail::Pending
                | EventDetail::Open { .. }
                | EventDetail::Cancelled
                | EventDetail::Expired { .. } => {}
                EventDetail::Routing { attempt: a, .. } => attempt = Some(to_i32(*a)),
                EventDetail::Building { route: r, .. } => route = Some(Json(&**r)),
                EventDetail::Submitted { tx_hash: h, .. } => tx_hash = Some(h.as_str()),
                EventDetail::Confirmed { tx_hash: h, executed_price, amount_out: out, .. } => {
                    tx_hash = Some(h.as_str());
                    price = Some(executed_price.as_str());
                    amount_out = Some(out.atoms.to_string());
                }
                EventDetail::Failed { error: e, attempts: a } => {
                    attempt = Some(to_i32(*a));
                    error = Some(Json(e));
                }
            }
        }
        self.attempts.push(attempt);
        self.routes.push(route);
        self.tx_hashes.push(tx_hash);
        self.prices.push(price);
        self.amounts_out.push(amount_out);
        self.errors.push(error);
    }
}

/// Every event of every run, with the last seq of its run (what the row update
/// returns when the run's guard held).
pub(super) struct EventColumns<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) run_lasts: Vec<i32>,
    pub(super) seqs: Vec<i32>,
    pub(super) statuses: Vec<&'static str>,
    pub(super) ats: Vec<DateTime<Utc>>,
    pub(super) payloads: Vec<&'a str>,
}

impl<'a> EventColumns<'a> {
    pub(super) fn with_capacity(runs: usize) -> Self {
        let n = runs * 3;
        Self {
            ids: Vec::with_capacity(n),
            run_lasts: Vec::with_capacity(n),
            seqs: Vec::with_capacity(n),
            statuses: Vec::with_capacity(n),
            ats: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
        }
    }

    pub(super) fn push(&mut self, run: &'a [RecordedEvent]) {
        let Some(last) = run.last().map(|r| &r.event) else { return };
        for RecordedEvent { event, json } in run {
            self.ids.push(event.order_id);
            self.run_lasts.push(to_i32(last.seq));
            self.seqs.push(to_i32(event.seq));
            self.statuses.push(event.status().as_str());
            self.ats.push(event.at);
            self.payloads.push(json.as_str());
        }
    }
}
