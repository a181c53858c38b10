//! The HTTP transport: `POST /api/orders/execute`, then a follow socket.
//!
//! Each order is one task: it waits for one of `--http-connections` request
//! slots (so the keep-alive pool never grows past that many connections),
//! posts its pre-serialized body, and when followed opens its follow socket
//! right after the 202. The slot is given back as soon as the reply body is
//! read, before following, so slow orders never hold up submissions.

use super::follow::{Tracked, follow, sample};
use super::{Ctx, Job};
use oee_client::TransportKind;
use oee_client::frame::Frame;
use oee_domain::ErrorCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The submission client: a keep-alive pool of at most `connections` idle
/// connections per API, no proxy lookup, no Nagle delay.
pub fn client(connections: u32, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(connections).unwrap_or(usize::MAX))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .no_proxy()
        .build()?)
}

/// Submits order `job`, then follows it if it is in the sample.
pub async fn run_order(ctx: Arc<Ctx>, job: Job) {
    let Some(order_id) = submit(&ctx, &job).await else {
        return;
    };
    if job.follow {
        // Followed on the next URL; listening starts when the socket is open.
        let first_url = job.index + 1;
        follow(&ctx, Tracked::new(job, i64::MAX), order_id, first_url).await;
    }
}

/// Posts the order; its id when accepted. Every outcome is recorded here.
async fn submit(ctx: &Ctx, job: &Job) -> Option<Uuid> {
    let target = ctx.plan.target(job.index);
    let body = ctx.plan.mix.body(job.index).json.clone();
    let slot = tokio::select! {
        biased;
        () = ctx.stop.cancelled() => return None,
        slot = ctx.http_slots.acquire() => slot.ok()?,
    };
    ctx.recorder.sent(job, Instant::now());
    let exchange = async {
        let mut request =
            ctx.http.post(target.submit_url.clone()).header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(value) = &target.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        let response = request.body(body).send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.bytes().await?))
    };
    let (status, bytes) = tokio::select! {
        biased;
        () = ctx.stop.cancelled() => {
            ctx.recorder.unanswered();
            return None;
        }
        exchange = exchange => match exchange {
            Ok(reply) => reply,
            Err(e) => {
                ctx.recorder.submit_failed(format!("submit: {}", TransportKind::of(&e)), e.to_string());
                return None;
            }
        },
    };
    let answered = Instant::now();
    drop(slot);
    let reply = Frame::parse_bytes(&bytes);
    if status.is_success()
        && let Some(id) = reply.and_then(|r| r.order_id)
    {
        ctx.recorder.accepted(job, answered);
        return Some(id);
    }
    let code = reply.and_then(|r| r.rejection()).map_or("-", ErrorCode::as_str);
    ctx.recorder.rejected(format!("HTTP {} {code}", status.as_u16()), sample(&String::from_utf8_lossy(&bytes)));
    None
}
