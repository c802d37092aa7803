//! Message categories (API.md, "Consent, message categories and suppressions"): kept
//! as recorded, filtered on, counted, and refused by name when unknown.
use sentlog::proto::{self, MessageCategory};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(categories_are_kept_filtered_and_counted);

async fn categories_are_kept_filtered_and_counted(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    let of = |ext: &str, c: MessageCategory| proto::NewMessage {
        category: c as i32,
        ..new_message("h1", ext, "+33612345678")
    };
    let ids = record(
        &mut m,
        vec![
            of("checkin", MessageCategory::Utility),
            of("welcome", MessageCategory::Utility),
            of("upsell", MessageCategory::Marketing),
            of("old", MessageCategory::Unspecified),
        ],
    )
    .await;
    let upsell = m
        .get_message(proto::GetMessageRequest { id: ids[2].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upsell.category, MessageCategory::Marketing as i32);

    let marketing = list_all(
        &mut m,
        proto::MessageFilter {
            categories: vec![MessageCategory::Marketing as i32],
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(
        marketing.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        [ids[2].as_str()]
    );
    // Counted per category, by the tallies (hotel only) and by the rows (a phone).
    for filter in [
        proto::MessageFilter {
            hotel_ids: vec!["h1".into()],
            ..Default::default()
        },
        proto::MessageFilter {
            phone: "06 12 34 56 78".into(),
            ..Default::default()
        },
    ] {
        let by_filter = counts(&mut m, filter.clone()).await;
        let by: Vec<(i32, i64)> = by_filter
            .by_category
            .iter()
            .map(|c| (c.category, c.count))
            .collect();
        assert_eq!(
            by,
            [
                (MessageCategory::Unspecified as i32, 1),
                (MessageCategory::Utility as i32, 2),
                (MessageCategory::Marketing as i32, 1)
            ],
            "{filter:?}"
        );
        let only_utility = counts(
            &mut m,
            proto::MessageFilter {
                categories: vec![MessageCategory::Utility as i32],
                ..filter
            },
        )
        .await;
        assert_eq!(only_utility.total, 2);
    }
    // Unknown values are refused, naming the field.
    let r = m
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![proto::NewMessage {
                category: 42,
                ..new_message("h1", "bad", "+33612345678")
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(r[0].error.starts_with("messages[0].category"), "{r:?}");
    let err = m
        .list_messages(proto::ListMessagesRequest {
            filter: Some(proto::MessageFilter {
                categories: vec![0],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("filter.categories[0]"),
        "{}",
        err.message()
    );
    server.stop().await;
}
