//! The progress bar: counts and rates on stderr while the run goes on.
//!
//! It reads the recorder's atomic counters five times a second, so it costs the
//! run nothing measurable. It hides itself when stderr is not a terminal, and
//! with `--quiet`.

use super::Ctx;
use super::stats::Live;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    draining: Arc<AtomicBool>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts drawing; `planned` is the number of orders when known.
    pub fn start(ctx: &Arc<Ctx>, planned: Option<u64>) -> Self {
        let bar = if ctx.plan.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(planned, ProgressDrawTarget::stderr_with_hz(20))
        };
        // `wide_msg` is cut to the terminal's width, so the bar stays one line.
        let template = if planned.is_some() {
            "{elapsed_precise} [{bar:20}] {pos}/{len} {wide_msg}"
        } else {
            "{elapsed_precise} {spinner} sent {pos} {wide_msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let draining = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let task = tokio::spawn(draw(ctx.clone(), bar.clone(), draining.clone(), stop.clone()));
        Self { bar, draining, stop, task }
    }

    pub fn draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
        self.bar.finish_and_clear();
    }
}

async fn draw(ctx: Arc<Ctx>, bar: ProgressBar, draining: Arc<AtomicBool>, stop: CancellationToken) {
    if bar.is_hidden() {
        return;
    }
    let live = &ctx.recorder.live;
    // Samples over the last second, for the rates.
    let mut window: VecDeque<(Instant, u64, u64)> = VecDeque::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        let (sent, finished) = (Live::get(&live.sent), Live::get(&live.finished));
        window.push_back((now, sent, finished));
        while window.len() > 2
            && window.front().is_some_and(|&(t, _, _)| now.duration_since(t) > Duration::from_secs(1))
        {
            window.pop_front();
        }
        let (sent_rate, finished_rate) = match window.front() {
            Some(&(t, s, f)) if now > t => {
                let secs = now.duration_since(t).as_secs_f64();
                ((sent - s) as f64 / secs, (finished - f) as f64 / secs)
            }
            _ => (0.0, 0.0),
        };
        let in_flight = u64::from(ctx.plan.max_in_flight).saturating_sub(ctx.slots.available_permits() as u64);
        let phase = if draining.load(Ordering::Relaxed) { "draining" } else { "sending" };
        // The draw target redraws at most 20 times a second, so both updates show.
        bar.set_position(sent);
        bar.set_message(format!(
            "{phase} {sent_rate:.0}/s | finished {finished} {finished_rate:.0}/s | errors {} | accepted {} | in flight {in_flight}",
            Live::get(&live.refused),
            Live::get(&live.accepted),
        ));
    }
}
