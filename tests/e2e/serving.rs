//! The server itself: health, reflection, not-yet-available RPCs, clean shutdown.
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::backend_tests;
use crate::common::*;

backend_tests!(health_reports_serving_and_stop_is_clean);

async fn health_reports_serving_and_stop_is_clean(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut health = HealthClient::new(server.channel.clone());
    for service in [
        "",
        "sentlog.v1.MessageService",
        "sentlog.v1.GuestService",
        "sentlog.v1.ReconciliationService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    server.stop().await;
}
