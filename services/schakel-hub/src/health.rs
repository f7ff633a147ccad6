//! The gRPC health service (`grpc.health.v1`) with each service's real
//! state: every `schakel.v1` service, and the whole server under the empty
//! name, is `SERVING` while the database answers and `NOT_SERVING` while it
//! does not, so a load balancer's health check takes a hub without its
//! database out of rotation. A name the hub does not serve is `NOT_FOUND`.

use std::time::Duration;

use schakel_store::Store;
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How often the database is asked whether it answers.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// Longest a probe may take before the database counts as not answering.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Sets every service to `status`.
pub async fn set_all(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for service in schakel_proto::SERVICE_NAMES {
        health.set_service_status(service, status).await;
    }
}

/// Probes `store` every `interval` and reports the result for every
/// service; a change is logged once.
pub fn spawn(health: HealthReporter, store: Store, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = ServingStatus::Serving;
        loop {
            tick.tick().await;
            let status = match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => ServingStatus::Serving,
                Ok(Err(e)) => {
                    if last == ServingStatus::Serving {
                        tracing::warn!(error = %e, "database not answering: health NOT_SERVING");
                    }
                    ServingStatus::NotServing
                }
                Err(_) => {
                    if last == ServingStatus::Serving {
                        tracing::warn!("database probe timed out: health NOT_SERVING");
                    }
                    ServingStatus::NotServing
                }
            };
            if status == ServingStatus::Serving && last != ServingStatus::Serving {
                tracing::info!("database answers again: health SERVING");
            }
            set_all(&health, status).await;
            last = status;
        }
    })
}
