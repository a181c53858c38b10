//! `oee-worker`: see the crate docs.

use oee_runtime::{Settings, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init(&settings.log_format);
    let stop = shutdown::on_signal();
    let worker = oee_worker::build(&settings).await?;
    worker.run(stop).await?;
    Ok(())
}
