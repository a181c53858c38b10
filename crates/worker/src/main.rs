//! `oee-worker`: see the crate docs.

use oee_runtime::{Settings, shutdown, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    oee_runtime::exit("oee-worker", run().await)
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(&settings.log_format);
    let stop = shutdown::on_signal();
    let worker = oee_worker::build(&settings).await?;
    worker.run(stop).await?;
    Ok(())
}
