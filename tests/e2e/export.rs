//! ExportMessages streams exactly what paged ListMessages returns; `sentlog export`
//! writes it as CSV that parses back.
use sentlog::proto::{self, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(export_equals_the_paged_list_and_csv_parses_back);

async fn export_all(server: &TestServer, filter: proto::MessageFilter) -> Vec<proto::Message> {
    let mut stream = server
        .messages()
        .export_messages(proto::ExportMessagesRequest {
            filter: Some(filter),
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await.unwrap() {
        out.push(m);
    }
    out
}

async fn export_equals_the_paged_list_and_csv_parses_back(db: TestDb) {
    let server = TestServer::start(db).await;
    let store = server.store().clone();
    tokio::task::spawn_blocking(move || sentlog::demo::load(&store, 20_000, 5, false))
        .await
        .unwrap()
        .unwrap();
    let mut tricky = new_message("paris-opera", "tricky", "+33612345678");
    tricky.guest_name = "Zoé \"Zozo\", Jr.\nRoom 12".into();
    record(&mut server.messages(), vec![tricky]).await;

    for filter in [
        proto::MessageFilter::default(),
        proto::MessageFilter {
            statuses: vec![
                MessageStatus::Undelivered as i32,
                MessageStatus::Failed as i32,
            ],
            campaign_name: "check-in".into(),
            ..Default::default()
        },
    ] {
        let exported = export_all(&server, filter.clone()).await;
        let listed = list_all(&mut server.messages(), filter.clone(), 500).await;
        assert!(!exported.is_empty());
        assert_eq!(exported.len(), listed.len());
        assert!(exported == listed, "export and list differ");
    }

    // CSV through the same client code as `sentlog export`.
    let mut buffer = Vec::new();
    let url = format!("http://{}", server.server.as_ref().unwrap().addr);
    let rows = sentlog::grpc::client::export(&url, None, Default::default(), &mut buffer, false)
        .await
        .unwrap();
    assert_eq!(rows, 20_001);
    let mut reader = csv::Reader::from_reader(buffer.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, sentlog::service::csv::HEADER);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 20_001);
    let tricky = records.iter().find(|r| &r[2] == "tricky").unwrap();
    assert_eq!(&tricky[10], "Zoé \"Zozo\", Jr.\nRoom 12");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&tricky[3]).is_ok(),
        "{}",
        &tricky[3]
    );
    assert_eq!(&tricky[4], "PENDING");
    assert_eq!(&tricky[5], "En attente");
    server.stop().await;
}
