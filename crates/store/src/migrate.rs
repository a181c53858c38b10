//! Schema migrations from `migrations/`, embedded in the binary and applied under
//! a Postgres advisory lock so replicas starting together don't race.

use crate::error::StoreError;
use std::time::Duration;
use tokio_postgres::NoTls;

refinery::embed_migrations!("../../migrations");

/// Bound on reaching the server, so a start against an unreachable database fails
/// with a message instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An arbitrary constant naming our advisory lock ("oee-migr").
const LOCK_KEY: i64 = 0x6f65_652d_6d69_6772;

/// Applies pending migrations and returns how many ran.
pub async fn migrate(database_url: &str) -> Result<usize, StoreError> {
    let mut config: tokio_postgres::Config = database_url.parse()?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let (mut client, connection) = config.connect(NoTls).await?;
    let conn = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection ended with an error");
        }
    });
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
    let report = migrations::runner().set_abort_divergent(true).run_async(&mut client).await;
    // Unlocking is best effort: the lock also ends with the session.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await;
    drop(client);
    let _ = conn.await;
    let report = report.map_err(|e| StoreError::corrupt(format!("migration failed: {e}")))?;
    for m in report.applied_migrations() {
        tracing::info!(version = m.version(), name = m.name(), "applied migration");
    }
    Ok(report.applied_migrations().len())
}
