//! RecordMessages, GetMessage, ListMessages and CountMessages as API.md says.
use std::collections::HashSet;

use sentlog::proto::{self, Channel, ErrorCategory, MessageStatus};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    records_idempotently,
    item_errors_name_the_field_and_spare_the_batch,
    oversized_batch_is_refused_whole,
    each_filter_alone_and_combined,
    phone_formats_find_the_same_message,
    invalid_phone_is_kept_and_found,
    paging_never_repeats_or_skips_while_inserting,
    counts_equal_the_pages,
    counts_follow_every_write_and_time_range,
    writers_of_many_statements_never_deadlock_on_tallies,
    bad_requests_are_invalid_argument,
    get_message_finds_or_says_not_found,
    every_filter_is_served_by_an_index,
    tally_counts_read_an_index,
    date_ranges_page_like_any_filter,
    next_pages_are_prepared_once,
);

async fn records_idempotently(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let batch = vec![
        new_message("h1", "e1", "+33612345678"),
        new_message("h1", "e2", "+33612345679"),
        new_message("h2", "e1", "+33612345670"),
    ];
    let first = client
        .record_messages(proto::RecordMessagesRequest {
            messages: batch.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(first.iter().all(|r| r.created && r.error.is_empty()));
    let ids: HashSet<_> = first.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(
        ids.len(),
        3,
        "same external id in two hotels is two messages"
    );

    // A retry after a timeout, even with changed content, changes nothing.
    let mut retry = batch.clone();
    retry[0].guest_name = "Someone Else".into();
    retry.push(new_message("h1", "e1", "+33600000000"));
    let second = client
        .record_messages(proto::RecordMessagesRequest { messages: retry })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(second.len(), 4);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.message_id, b.message_id);
        assert!(!b.created);
    }
    assert_eq!(second[3].message_id, first[0].message_id);
    assert!(!second[3].created);
    let stored = client
        .get_message(proto::GetMessageRequest {
            id: first[0].message_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.guest_name, "Camille Martin");
    assert_eq!(stored.recipient_phone, "+33612345678");
    let total = client
        .count_messages(proto::CountMessagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .total;
    assert_eq!(total, 3);

    // Within one batch, a repeated external id is one message.
    let dup = client
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![
                new_message("h3", "x", "+33612345678"),
                new_message("h3", "x", "+33612345678"),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(dup[0].message_id, dup[1].message_id);
    assert!(dup[0].created && !dup[1].created);
    server.stop().await;
}

async fn item_errors_name_the_field_and_spare_the_batch(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let ok = new_message("h1", "ok", "+33612345678");
    let mut no_hotel = new_message("", "a", "+33612345678");
    no_hotel.hotel_id = "  ".into();
    let mut sms_no_phone = new_message("h1", "b", "");
    sms_no_phone.channel = Channel::Sms as i32;
    let mut email_no_address = new_message("h1", "c", "");
    email_no_address.channel = Channel::Email as i32;
    let mut unknown_channel = new_message("h1", "d", "+33612345678");
    unknown_channel.channel = 99;
    let mut no_channel = new_message("h1", "d2", "+33612345678");
    no_channel.channel = 0;
    let mut bad_date = new_message("h1", "e", "+33612345678");
    bad_date.check_in_date = "2026-02-30".into();
    let mut read_sms = new_message("h1", "f", "+33612345678");
    read_sms.channel = Channel::Sms as i32;
    read_sms.status = MessageStatus::Read as i32;
    let mut no_external = new_message("h1", "", "+33612345678");
    no_external.external_id.clear();
    let mut bad_region = new_message("h1", "g", "0612345678");
    bad_region.phone_region = "ZZ".into();
    let mut bad_status = new_message("h1", "h", "+33612345678");
    bad_status.status = 77;

    let results = client
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![
                ok,
                no_hotel,
                sms_no_phone,
                email_no_address,
                unknown_channel,
                no_channel,
                bad_date,
                read_sms,
                no_external,
                bad_region,
                bad_status,
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    let expected = [
        "",
        "messages[1].hotel_id",
        "messages[2].recipient_phone",
        "messages[3].recipient_email",
        "messages[4].channel",
        "messages[5].channel",
        "messages[6].check_in_date",
        "messages[7].status",
        "messages[8].external_id",
        "messages[9].phone_region",
        "messages[10].status",
    ];
    assert_eq!(results.len(), expected.len());
    for (r, field) in results.iter().zip(expected) {
        if field.is_empty() {
            assert!(r.error.is_empty() && r.created && !r.message_id.is_empty());
        } else {
            assert!(
                r.error.starts_with(field),
                "item {}: {:?} should name {field}",
                r.index,
                r.error
            );
            assert!(r.message_id.is_empty() && !r.created);
        }
    }
    let total = client
        .count_messages(proto::CountMessagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .total;
    assert_eq!(total, 1, "only the valid item is stored");
    server.stop().await;
}

async fn oversized_batch_is_refused_whole(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let messages: Vec<_> = (0..1001)
        .map(|i| new_message("h1", &format!("e{i}"), "+33612345678"))
        .collect();
    let err = client
        .record_messages(proto::RecordMessagesRequest { messages })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("messages") && err.message().contains("1000"));
    let total = client
        .count_messages(proto::CountMessagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .total;
    assert_eq!(total, 0);
    server.stop().await;
}

/// Five messages across two hotels, recorded in two batches; returns them in order.
async fn fixture(
    client: &mut proto::message_service_client::MessageServiceClient<tonic::transport::Channel>,
) -> Vec<proto::Message> {
    let mut m1 = new_message("hotel-a", "m1", "06 12 34 56 78");
    m1.check_in_date = "2026-12-01".into();
    m1.check_out_date = "2026-12-03".into();
    m1.status = MessageStatus::Delivered as i32;
    m1.pms_reservation_id = "r1".into();
    m1.provider_message_id = "wamid.1".into();

    let mut m2 = new_message("hotel-a", "m2", "+33 6 98 76 54 32");
    m2.channel = Channel::Sms as i32;
    m2.campaign_id = "c-upsell".into();
    m2.campaign_name = "Upsell 50%_off".into();
    m2.check_in_date = "2026-12-05".into();
    m2.check_out_date = "2026-12-09".into();
    m2.status = MessageStatus::Undelivered as i32;
    m2.provider = "twilio".into();
    m2.provider_message_id = "SM2".into();
    m2.error_code = "30003".into();
    m2.pms_reservation_id = "r2".into();

    let mut m3 = new_message("hotel-a", "m3", "");
    m3.channel = Channel::Email as i32;
    m3.recipient_email = "Anna.B@Example.com".into();
    m3.campaign_id = "c-welcome".into();
    m3.campaign_name = "Welcome".into();
    m3.check_in_date = "2026-12-10".into();
    m3.check_out_date = "2026-12-12".into();
    m3.status = MessageStatus::Sent as i32;
    m3.provider = "sendgrid".into();

    let mut m4 = new_message("hotel-b", "m4", "07911 123456");
    m4.phone_region = "GB".into();
    m4.campaign_id = "c-checkin-b".into();
    m4.campaign_name = "Online Check-In London".into();
    m4.check_in_date = "2026-12-01".into();
    m4.check_out_date = "2026-12-02".into();
    m4.status = MessageStatus::Read as i32;

    let mut m5 = new_message("hotel-b", "m5", "not a number");
    m5.channel = Channel::Sms as i32;
    m5.campaign_id = "c-upsell-b".into();
    m5.campaign_name = "Upsell 50 off".into();
    m5.check_in_date = "2026-11-20".into();
    m5.check_out_date = "2026-11-25".into();
    m5.status = MessageStatus::Failed as i32;
    m5.provider = "twilio".into();
    m5.error_code = "21211".into();

    let mut ids = record(client, vec![m1, m2, m3]).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ids.extend(record(client, vec![m4, m5]).await);
    let mut out = Vec::new();
    for id in ids {
        out.push(
            client
                .get_message(proto::GetMessageRequest { id })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    out
}

async fn each_filter_alone_and_combined(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let m = fixture(&mut client).await;
    assert_eq!(m[1].error_category, ErrorCategory::Unreachable as i32);
    assert_eq!(m[4].error_category, ErrorCategory::InvalidNumber as i32);
    let f = proto::MessageFilter::default;
    let date = |s: &str| s.to_string();
    let cases: Vec<(&str, proto::MessageFilter, Vec<usize>)> = vec![
        ("no filter", f(), vec![0, 1, 2, 3, 4]),
        (
            "hotel",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-a".into()],
                ..f()
            },
            vec![0, 1, 2],
        ),
        (
            "two hotels",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-a".into(), "hotel-b".into()],
                ..f()
            },
            vec![0, 1, 2, 3, 4],
        ),
        (
            "phone national",
            proto::MessageFilter {
                phone: "0612345678".into(),
                ..f()
            },
            vec![0],
        ),
        (
            "phone GB",
            proto::MessageFilter {
                phone: "+44 7911 123456".into(),
                ..f()
            },
            vec![3],
        ),
        (
            "campaign name, any case",
            proto::MessageFilter {
                campaign_name: "CHECK-in".into(),
                ..f()
            },
            vec![0, 3],
        ),
        (
            "campaign name, literal % and _",
            proto::MessageFilter {
                campaign_name: "50%_off".into(),
                ..f()
            },
            vec![1],
        ),
        (
            "campaign name, no match",
            proto::MessageFilter {
                campaign_name: "zzz".into(),
                ..f()
            },
            vec![],
        ),
        (
            "campaign ids",
            proto::MessageFilter {
                campaign_ids: vec!["c-upsell".into(), "c-welcome".into()],
                ..f()
            },
            vec![1, 2],
        ),
        (
            "check-in day, inclusive",
            proto::MessageFilter {
                check_in_from: date("2026-12-01"),
                check_in_to: date("2026-12-01"),
                ..f()
            },
            vec![0, 3],
        ),
        (
            "check-in from",
            proto::MessageFilter {
                check_in_from: date("2026-12-05"),
                ..f()
            },
            vec![1, 2],
        ),
        (
            "check-in to",
            proto::MessageFilter {
                check_in_to: date("2026-11-30"),
                ..f()
            },
            vec![4],
        ),
        (
            "check-out range",
            proto::MessageFilter {
                check_out_from: date("2026-12-03"),
                check_out_to: date("2026-12-09"),
                ..f()
            },
            vec![0, 1],
        ),
        (
            "channel",
            proto::MessageFilter {
                channels: vec![Channel::Sms as i32],
                ..f()
            },
            vec![1, 4],
        ),
        (
            "channels",
            proto::MessageFilter {
                channels: vec![Channel::Sms as i32, Channel::Email as i32],
                ..f()
            },
            vec![1, 2, 4],
        ),
        (
            "statuses",
            proto::MessageFilter {
                statuses: vec![
                    MessageStatus::Undelivered as i32,
                    MessageStatus::Failed as i32,
                ],
                ..f()
            },
            vec![1, 4],
        ),
        (
            "email, any case",
            proto::MessageFilter {
                email: " anna.b@EXAMPLE.com".into(),
                ..f()
            },
            vec![2],
        ),
        (
            "reservation",
            proto::MessageFilter {
                pms_reservation_id: "r2".into(),
                ..f()
            },
            vec![1],
        ),
        (
            "provider id",
            proto::MessageFilter {
                provider_message_id: "SM2".into(),
                ..f()
            },
            vec![1],
        ),
        (
            "error category",
            proto::MessageFilter {
                error_categories: vec![ErrorCategory::InvalidNumber as i32],
                ..f()
            },
            vec![4],
        ),
        (
            "created after",
            proto::MessageFilter {
                created_after: m[3].created_at,
                ..f()
            },
            vec![3, 4],
        ),
        (
            "created before",
            proto::MessageFilter {
                created_before: m[3].created_at,
                ..f()
            },
            vec![0, 1, 2],
        ),
        (
            "combined",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-a".into()],
                channels: vec![Channel::Sms as i32, Channel::Whatsapp as i32],
                check_in_from: date("2026-12-01"),
                ..f()
            },
            vec![0, 1],
        ),
        (
            "combined narrow",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-a".into()],
                campaign_name: "check".into(),
                statuses: vec![MessageStatus::Delivered as i32],
                phone: "+33612345678".into(),
                ..f()
            },
            vec![0],
        ),
    ];
    for (name, filter, expected) in cases {
        let got = list_all(&mut client, filter.clone(), 2).await;
        let mut got_ids: Vec<_> = got.iter().map(|x| x.id.clone()).collect();
        let mut want: Vec<_> = expected.iter().map(|i| m[*i].id.clone()).collect();
        // Newest first: the second batch before the first.
        assert!(
            got.windows(2).all(|w| (
                w[0].created_at.unwrap().seconds,
                w[0].created_at.unwrap().nanos,
                &w[0].id
            ) >= (
                w[1].created_at.unwrap().seconds,
                w[1].created_at.unwrap().nanos,
                &w[1].id
            )),
            "{name}: not newest first"
        );
        got_ids.sort();
        want.sort();
        assert_eq!(got_ids, want, "{name}");
        let count = counts(&mut client, filter).await;
        assert_eq!(count.total as usize, expected.len(), "{name}: count");
    }
    server.stop().await;
}

async fn phone_formats_find_the_same_message(db: TestDb) {
    let server = TestServer::start_with(db, |s| {
        s.hotel_regions.insert("london".into(), "GB".into());
    })
    .await;
    let mut client = server.messages();
    let ids = record(
        &mut client,
        vec![
            new_message("paris", "p", "06 12 34 56 78"),
            new_message("london", "l", "07911 123456"),
        ],
    )
    .await;
    for form in [
        "0612345678",
        "+33 6 12 34 56 78",
        "0033612345678",
        "06.12.34.56.78",
        "+33612345678",
    ] {
        let got = list_all(
            &mut client,
            proto::MessageFilter {
                phone: form.into(),
                ..Default::default()
            },
            10,
        )
        .await;
        assert_eq!(
            got.iter().map(|m| &m.id).collect::<Vec<_>>(),
            vec![&ids[0]],
            "{form}"
        );
    }
    // The hotel's configured region reads its national numbers.
    for form in ["07911 123456", "+447911123456", "0044 7911 123456"] {
        let got = list_all(
            &mut client,
            proto::MessageFilter {
                phone: form.into(),
                hotel_ids: vec!["london".into()],
                ..Default::default()
            },
            10,
        )
        .await;
        assert_eq!(
            got.iter().map(|m| &m.id).collect::<Vec<_>>(),
            vec![&ids[1]],
            "{form}"
        );
        assert_eq!(got[0].recipient_phone, "+447911123456");
    }
    server.stop().await;
}

async fn invalid_phone_is_kept_and_found(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let ids = record(
        &mut client,
        vec![
            new_message("h", "a", " call the front desk "),
            new_message("h", "b", "+33 6 12"),
        ],
    )
    .await;
    let a = client
        .get_message(proto::GetMessageRequest { id: ids[0].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.recipient_phone, "call the front desk");
    assert!(!a.phone_valid);
    let b = client
        .get_message(proto::GetMessageRequest { id: ids[1].clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!b.phone_valid);
    let found = list_all(
        &mut client,
        proto::MessageFilter {
            phone: "call the front desk".into(),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids[0]);
    let found = list_all(
        &mut client,
        proto::MessageFilter {
            phone: "+33 6 12".into(),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids[1]);
    server.stop().await;
}

async fn paging_never_repeats_or_skips_while_inserting(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let mut original = HashSet::new();
    for batch in 0..3 {
        let messages = (0..400)
            .map(|i| new_message("h", &format!("b{batch}-{i}"), "+33612345678"))
            .collect();
        original.extend(record(&mut client, messages).await);
    }
    assert_eq!(original.len(), 1200);

    // A writer keeps recording while a reader pages through.
    let mut writer = server.messages();
    let writing = tokio::spawn(async move {
        for batch in 0..20 {
            let messages = (0..25)
                .map(|i| new_message("h", &format!("late{batch}-{i}"), "+33612345678"))
                .collect();
            record(&mut writer, messages).await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_messages(proto::ListMessagesRequest {
                filter: Some(proto::MessageFilter {
                    hotel_ids: vec!["h".into()],
                    ..Default::default()
                }),
                page_size: 97,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.messages.len() <= 97);
        pages += 1;
        seen.extend(page.messages.into_iter().map(|m| m.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    writing.await.unwrap();
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a row repeated across pages");
    assert!(original.is_subset(&unique), "a row was skipped");
    assert!(pages >= 13);

    // Larger page sizes are clamped to 500.
    let big = client
        .list_messages(proto::ListMessagesRequest {
            filter: None,
            page_size: 100_000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(big.messages.len(), 500);
    assert!(!big.next_page_token.is_empty());
    let default = client
        .list_messages(proto::ListMessagesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(default.messages.len(), 50);
    server.stop().await;
}

async fn counts_equal_the_pages(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let store = server.store().clone();
    tokio::task::spawn_blocking(move || sentlog::demo::load(&store, 600, 3, false))
        .await
        .unwrap()
        .unwrap();
    let filters = vec![
        proto::MessageFilter::default(),
        proto::MessageFilter {
            hotel_ids: vec!["paris-opera".into()],
            ..Default::default()
        },
        proto::MessageFilter {
            channels: vec![Channel::Whatsapp as i32],
            ..Default::default()
        },
        proto::MessageFilter {
            campaign_name: "upsell".into(),
            statuses: vec![MessageStatus::Delivered as i32, MessageStatus::Read as i32],
            ..Default::default()
        },
    ];
    for filter in filters {
        let all = counts_match_the_rows(&mut client, filter, 83).await;
        assert!(!all.is_empty());
    }
    server.stop().await;
}

/// Every row of `filter`, after checking that CountMessages counts them exactly.
async fn counts_match_the_rows(
    client: &mut proto::message_service_client::MessageServiceClient<tonic::transport::Channel>,
    filter: proto::MessageFilter,
    page_size: i32,
) -> Vec<proto::Message> {
    let all = list_all(client, filter.clone(), page_size).await;
    let counts = counts(client, filter.clone()).await;
    assert_eq!(counts.total as usize, all.len(), "{filter:?}");
    let by_status: i64 = counts.by_status.iter().map(|s| s.count).sum();
    let by_channel: i64 = counts.by_channel.iter().map(|s| s.count).sum();
    assert_eq!((by_status, by_channel), (counts.total, counts.total));
    for sc in &counts.by_status {
        let n = all.iter().filter(|m| m.status == sc.status).count();
        assert_eq!(sc.count as usize, n, "status {} of {filter:?}", sc.status);
    }
    for cc in &counts.by_channel {
        let n = all.iter().filter(|m| m.channel == cc.channel).count();
        assert_eq!(cc.count as usize, n, "channel {} of {filter:?}", cc.channel);
    }
    all
}

/// CountMessages and GetCampaignStats sum per-day tallies the database keeps on every
/// write; after status changes, rows moved to other days and rows deleted behind the
/// service's back, with ranges that cut days in the middle, they still equal the rows.
async fn counts_follow_every_write_and_time_range(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let store = server.store().clone();
    let pg = server.is_postgres();
    tokio::task::spawn_blocking(move || {
        sentlog::demo::load(&store, 400, 3, false)?;
        let mut conn = store.conn()?;
        // Spread the messages over a week, minute by minute, then delete some.
        let minutes_back = match pg {
            true => "abs(('x' || substr(md5(id::text), 1, 8))::bit(32)::int) % 10080",
            false => {
                "(unicode(substr(hex(id), -1)) * 997 + unicode(substr(hex(id), -2, 1)) * 31 \
                      + unicode(substr(hex(id), -3, 1))) % 10080"
            }
        };
        let shifted = match pg {
            true => format!("created_at - ({minutes_back}) * interval '1 minute'"),
            // In the text the store writes (chrono's `%F %T%.f`): a whole second has
            // no fraction. strftime's `.000` would sort after the store's own text of
            // that second, and a page token bound there would skip rows tied on it.
            false => format!(
                "CASE WHEN substr({t}, -4) = '.000' THEN substr({t}, 1, 19) ELSE {t} END",
                t = format!(
                    "strftime('%Y-%m-%d %H:%M:%f', created_at, '-' || ({minutes_back}) || ' minutes')"
                )
            ),
        };
        exec(
            &mut conn,
            &format!("UPDATE messages SET created_at = {shifted}"),
        );
        exec(
            &mut conn,
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT 37)",
        );
        anyhow::Ok(())
    })
    .await
    .unwrap()
    .unwrap();
    // Range ends a second from a recorded time, so each edge cuts a day holding a message.
    let mut times: Vec<i64> = list_all(&mut client, proto::MessageFilter::default(), 500)
        .await
        .iter()
        .map(|m| m.created_at.unwrap().seconds)
        .collect();
    times.sort();
    let at = |fraction: f64, shift: i64| {
        let seconds = times[((times.len() - 1) as f64 * fraction) as usize] + shift;
        Some(prost_types::Timestamp { seconds, nanos: 0 })
    };
    let (after, before) = (|f| at(f, -1), |f| at(f, 1));
    let ranges = [
        (None, None),
        (after(0.3), None),
        (None, before(0.6)),
        (after(0.2), before(0.7)),
        (after(0.45), before(0.5)),
    ];
    // Counts sum the tallies the writes appended (pending, on PostgreSQL), then the
    // same once they are settled.
    for settle in [false, true] {
        if settle {
            let store = server.store().clone();
            let pg = server.is_postgres();
            tokio::task::spawn_blocking(move || {
                store.settle_tallies()?;
                if pg {
                    // Moving rows to other days emptied tallies: settling dropped them,
                    // and left nothing pending (the DELETE finds nothing to remove).
                    let mut conn = store.conn()?;
                    let left = "DELETE FROM message_tallies WHERE pending OR messages = 0";
                    assert_eq!(exec(&mut conn, left), 0);
                }
                anyhow::Ok(())
            })
            .await
            .unwrap()
            .unwrap();
        }
        for (created_after, created_before) in ranges {
            let filters = [
                proto::MessageFilter {
                    created_after,
                    created_before,
                    ..Default::default()
                },
                proto::MessageFilter {
                    hotel_ids: vec!["paris-opera".into()],
                    statuses: vec![MessageStatus::Delivered as i32, MessageStatus::Read as i32],
                    created_after,
                    created_before,
                    ..Default::default()
                },
                proto::MessageFilter {
                    campaign_name: "upsell".into(),
                    channels: vec![Channel::Whatsapp as i32],
                    error_categories: vec![],
                    created_after,
                    created_before,
                    ..Default::default()
                },
            ];
            for filter in filters {
                counts_match_the_rows(&mut client, filter, 200).await;
            }
            // The funnel of one campaign over the same range.
            let filter = proto::MessageFilter {
                hotel_ids: vec!["paris-opera".into()],
                created_after,
                created_before,
                ..Default::default()
            };
            let all = list_all(&mut client, filter, 200).await;
            let Some(campaign) = all
                .iter()
                .find_map(|m| Some(m.campaign_id.clone()).filter(|c| !c.is_empty()))
            else {
                continue;
            };
            let stats = client
                .get_campaign_stats(proto::GetCampaignStatsRequest {
                    hotel_id: "paris-opera".into(),
                    campaign_id: campaign.clone(),
                    sent_after: created_after,
                    sent_before: created_before,
                })
                .await
                .unwrap()
                .into_inner();
            let of_campaign: Vec<_> = all.iter().filter(|m| m.campaign_id == campaign).collect();
            assert_eq!(
                stats.total as usize,
                of_campaign.len(),
                "campaign {campaign}"
            );
        }
    }
    server.stop().await;
}

/// Tallies never make writers deadlock: four transactions of many single-row status
/// updates each (as an operator's script or a naive client would write them), on
/// different messages sharing the same tallies, in opposite orders, all commit, and
/// the counts still equal the rows. (With tallies updated in place, each statement
/// locked its tallies in its own order and PostgreSQL aborted such transactions.)
async fn writers_of_many_statements_never_deadlock_on_tallies(db: TestDb) {
    use diesel::connection::SimpleConnection;
    use sentlog::store::{DbConn, WriteTransaction};
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let mut ids = Vec::new();
    for batch in 0..4 {
        let messages = (0..100)
            .map(|i| {
                new_message(
                    "h",
                    &format!("m{batch}-{i}"),
                    &format!("+336120{batch}{i:04}"),
                )
            })
            .collect();
        ids.extend(record(&mut client, messages).await);
    }
    let store = server.store().clone();
    let writers: Vec<_> = ids
        .chunks(100)
        .enumerate()
        .map(|(k, mine)| {
            let (store, mut mine) = (store.clone(), mine.to_vec());
            if k % 2 == 1 {
                mine.reverse();
            }
            std::thread::spawn(move || {
                let (sent, delivered) =
                    (MessageStatus::Sent as i32, MessageStatus::Delivered as i32);
                let mut conn = store.conn().unwrap();
                for round in 0..3 {
                    let statements: Vec<String> = mine
                        .iter()
                        .enumerate()
                        .map(|(i, id)| {
                            let status = if (i + k + round) % 2 == 0 {
                                sent
                            } else {
                                delivered
                            };
                            format!(
                                "UPDATE messages SET status = {status} WHERE id = {}",
                                sql_id(&conn, id)
                            )
                        })
                        .collect();
                    let run = |c: &mut dyn FnMut(&str) -> Result<(), diesel::result::Error>| {
                        statements.iter().try_for_each(|s| c(s))
                    };
                    let result: Result<(), diesel::result::Error> = match &mut **conn {
                        DbConn::Pg(c, _) => {
                            c.write_transaction(|c| run(&mut |s| c.batch_execute(s)))
                        }
                        DbConn::Sqlite(c) => {
                            c.write_transaction(|c| run(&mut |s| c.batch_execute(s)))
                        }
                    };
                    result.unwrap_or_else(|e| panic!("writer {k}, round {round}: {e}"));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer failed");
    }
    counts_match_the_rows(&mut client, proto::MessageFilter::default(), 500).await;
    let store = server.store().clone();
    tokio::task::spawn_blocking(move || store.settle_tallies())
        .await
        .unwrap()
        .unwrap();
    counts_match_the_rows(&mut client, proto::MessageFilter::default(), 500).await;
    server.stop().await;
}

async fn bad_requests_are_invalid_argument(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let messages = (0..5)
        .map(|i| new_message("h", &format!("e{i}"), "+33612345678"))
        .collect();
    record(&mut client, messages).await;
    let list = |filter: proto::MessageFilter, page_size: i32, page_token: &str| {
        proto::ListMessagesRequest {
            filter: Some(filter),
            page_size,
            page_token: page_token.into(),
        }
    };
    let page = client
        .list_messages(list(Default::default(), 2, ""))
        .await
        .unwrap()
        .into_inner();
    let token = page.next_page_token;
    assert!(!token.is_empty());
    let other = proto::MessageFilter {
        channels: vec![Channel::Sms as i32],
        ..Default::default()
    };
    let cases: Vec<(proto::ListMessagesRequest, &str)> = vec![
        (list(Default::default(), -1, ""), "page_size"),
        (list(Default::default(), 2, "garbage!"), "page_token"),
        (
            list(
                Default::default(),
                2,
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            "page_token",
        ),
        (list(other, 2, &token), "page_token"),
        (
            list(
                proto::MessageFilter {
                    check_in_from: "2026-13-01".into(),
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.check_in_from",
        ),
        (
            list(
                proto::MessageFilter {
                    check_out_to: "yesterday".into(),
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.check_out_to",
        ),
        (
            list(
                proto::MessageFilter {
                    check_in_from: "2026-12-02".into(),
                    check_in_to: "2026-12-01".into(),
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.check_in_to",
        ),
        (
            list(
                proto::MessageFilter {
                    statuses: vec![42],
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.statuses[0]",
        ),
        (
            list(
                proto::MessageFilter {
                    channels: vec![1, 0],
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.channels[1]",
        ),
        (
            list(
                proto::MessageFilter {
                    error_categories: vec![-3],
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.error_categories[0]",
        ),
        (
            list(
                proto::MessageFilter {
                    hotel_ids: vec!["".into()],
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.hotel_ids[0]",
        ),
        (
            list(
                proto::MessageFilter {
                    campaign_name: "x".repeat(5000),
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.campaign_name",
        ),
        (
            list(
                proto::MessageFilter {
                    created_after: Some(prost_types::Timestamp {
                        seconds: 10,
                        nanos: -5,
                    }),
                    ..Default::default()
                },
                0,
                "",
            ),
            "filter.created_after",
        ),
    ];
    for (request, field) in cases {
        let err = client.list_messages(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    // The same mistakes through CountMessages.
    let err = client
        .count_messages(proto::CountMessagesRequest {
            filter: Some(proto::MessageFilter {
                check_in_from: "soon".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("filter.check_in_from"));
    // And the token still works with its own filter.
    let next = client
        .list_messages(list(Default::default(), 2, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.messages.len(), 2);
    server.stop().await;
}

async fn get_message_finds_or_says_not_found(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let ids = record(&mut client, vec![new_message("h", "e", "+33612345678")]).await;
    let m = client
        .get_message(proto::GetMessageRequest { id: ids[0].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.id, ids[0]);
    assert_eq!(m.status, MessageStatus::Pending as i32);
    assert!(m.created_at.is_some() && m.updated_at.is_some());
    let err = client
        .get_message(proto::GetMessageRequest {
            id: "0190-nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .get_message(proto::GetMessageRequest { id: " ".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("id"));
    server.stop().await;
}

async fn every_filter_is_served_by_an_index(db: TestDb) {
    use sentlog::domain::filter::{FilterDraft, MessageQuery};
    use sentlog::domain::message::{Channel as C, MessageStatus as S};
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    record(&mut client, vec![new_message("h", "e", "+33612345678")]).await;
    let hotel = || vec!["h".to_string()];
    let drafts: Vec<(&str, FilterDraft)> = vec![
        (
            "hotel",
            FilterDraft {
                hotel_ids: hotel(),
                ..Default::default()
            },
        ),
        (
            "phone",
            FilterDraft {
                phone: "+33612345678".into(),
                ..Default::default()
            },
        ),
        (
            "campaign name",
            FilterDraft {
                hotel_ids: hotel(),
                campaign_name: "check".into(),
                ..Default::default()
            },
        ),
        (
            "campaign ids",
            FilterDraft {
                hotel_ids: hotel(),
                campaign_ids: vec!["c-checkin".into()],
                ..Default::default()
            },
        ),
        (
            "check-in",
            FilterDraft {
                hotel_ids: hotel(),
                check_in_from: "2026-01-01".into(),
                check_in_to: "2026-01-31".into(),
                ..Default::default()
            },
        ),
        (
            "check-out",
            FilterDraft {
                hotel_ids: hotel(),
                check_out_from: "2026-01-01".into(),
                ..Default::default()
            },
        ),
        (
            "channel",
            FilterDraft {
                hotel_ids: hotel(),
                channels: vec![C::Sms],
                ..Default::default()
            },
        ),
        (
            "status",
            FilterDraft {
                hotel_ids: hotel(),
                statuses: vec![S::Undelivered],
                ..Default::default()
            },
        ),
        (
            "created",
            FilterDraft {
                hotel_ids: hotel(),
                created_after: Some(chrono::Utc::now()),
                ..Default::default()
            },
        ),
        (
            "email",
            FilterDraft {
                email: "a@b.co".into(),
                ..Default::default()
            },
        ),
        (
            "reservation",
            FilterDraft {
                pms_reservation_id: "r1".into(),
                ..Default::default()
            },
        ),
        (
            "provider id",
            FilterDraft {
                provider_message_id: "SM1".into(),
                ..Default::default()
            },
        ),
        (
            "error category",
            FilterDraft {
                hotel_ids: hotel(),
                error_categories: vec![
                    sentlog::domain::error_category::ErrorCategory::InvalidNumber,
                ],
                ..Default::default()
            },
        ),
        (
            "stuck",
            FilterDraft {
                hotel_ids: hotel(),
                stuck: true,
                ..Default::default()
            },
        ),
        (
            "category",
            FilterDraft {
                hotel_ids: hotel(),
                categories: vec![sentlog::domain::message::MessageCategory::Marketing],
                ..Default::default()
            },
        ),
        ("all hotels, newest first", FilterDraft::default()),
    ];
    let store = server.store().clone();
    let plans = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        planned_as_if_large(&mut conn, |conn| {
            let mut out = Vec::new();
            for (name, draft) in drafts {
                let q = MessageQuery::build(
                    draft,
                    &Default::default(),
                    sentlog::domain::stuck::StuckAfter::default().since(chrono::Utc::now()),
                )
                .unwrap();
                out.push((
                    name,
                    sentlog::store::messages::explain_list(conn, &q).unwrap(),
                ));
            }
            out
        })
    })
    .await
    .unwrap();
    for (name, plan) in plans {
        let text = plan.join("\n");
        let full_scan = plan.iter().any(|line| {
            (line.contains("SCAN messages") && !line.contains("USING"))
                || line.contains("Seq Scan on messages")
        });
        assert!(!full_scan, "{name} scans the whole table:\n{text}");
        assert!(
            text.contains("INDEX") || text.contains("Index"),
            "{name}:\n{text}"
        );
        // The partial indexes of the rare statuses and of failures serve their
        // filters (SQLite proves it from the literal the store writes).
        let own = match name {
            "status" => Some("messages_hotel_status"),
            "error category" => Some("messages_hotel_error"),
            _ => None,
        };
        if let Some(index) = own {
            assert!(text.contains(index), "{name} reads {index}:\n{text}");
        }
    }
    server.stop().await;
}

/// A count the tallies answer reads a hotel's days from an index, never every tally:
/// on PostgreSQL, both partial indexes (settled and pending tallies) at once, as no
/// index holds them all (migration 000028).
async fn tally_counts_read_an_index(db: TestDb) {
    use sentlog::domain::filter::{FilterDraft, MessageQuery};
    let server = TestServer::start(db).await;
    let store = server.store().clone();
    let plan = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let q = MessageQuery::build(
            FilterDraft {
                hotel_ids: vec!["h".into()],
                ..Default::default()
            },
            &Default::default(),
            sentlog::domain::stuck::StuckAfter::default().since(chrono::Utc::now()),
        )
        .unwrap();
        let days = sentlog::domain::day_split::WholeDays {
            from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
            until: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
        };
        planned_as_if_large(&mut conn, |conn| {
            sentlog::store::tallies::explain_count(conn, &q, days).unwrap()
        })
        .join("\n")
    })
    .await
    .unwrap();
    let wanted: &[&str] = match server.is_postgres() {
        true => &["message_tallies_settled", "message_tallies_pending"],
        false => &["SEARCH message_tallies"],
    };
    for index in wanted {
        assert!(plan.contains(index), "reads {index}:\n{plan}");
    }
    assert!(!plan.contains("Seq Scan"), "{plan}");
    server.stop().await;
}

/// A check-in or check-out range is read day by day and merged (up to 14 days) or in
/// one query (longer): both page exactly like the plain newest-first order.
async fn date_ranges_page_like_any_filter(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let mut batch = Vec::new();
    for i in 0..90 {
        let mut m = new_message("h", &format!("stay-{i}"), "+33612345678");
        let day = 1 + (i * 5) % 28;
        m.check_in_date = format!("2027-02-{day:02}");
        m.check_out_date = format!("2027-03-{day:02}");
        m.channel = [proto::Channel::Whatsapp, proto::Channel::Sms][i % 2] as i32;
        batch.push(m);
    }
    let ids = record(&mut client, batch).await;
    // The expected pages: the hotel's list in its own order, filtered here.
    let all = list_all(
        &mut client,
        proto::MessageFilter {
            hotel_ids: vec!["h".into()],
            ..Default::default()
        },
        500,
    )
    .await;
    assert_eq!(all.len(), ids.len());
    for (from, to, check_out) in [
        ("2027-02-03", "2027-02-10", false),
        ("2027-02-01", "2027-02-28", false),
        ("2027-03-06", "2027-03-06", true),
        ("2026-01-01", "2027-12-31", false), // longer than the day-by-day limit
    ] {
        let mut filter = proto::MessageFilter {
            hotel_ids: vec!["h".into()],
            channels: vec![proto::Channel::Sms as i32],
            ..Default::default()
        };
        let within = |d: &str| d >= from && d <= to;
        if check_out {
            (filter.check_out_from, filter.check_out_to) = (from.into(), to.into());
        } else {
            (filter.check_in_from, filter.check_in_to) = (from.into(), to.into());
        }
        let expected: Vec<&str> = all
            .iter()
            .filter(|m| m.channel == proto::Channel::Sms as i32)
            .filter(|m| {
                within(if check_out {
                    &m.check_out_date
                } else {
                    &m.check_in_date
                })
            })
            .map(|m| m.id.as_str())
            .collect();
        assert!(!expected.is_empty(), "{from}..{to}");
        let got = list_all(&mut client, filter, 4).await;
        let got: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(got, expected, "{from}..{to}");
    }
    // Both ranges: the week of check-outs is read a day at a time, and the twenty
    // days of check-ins (over the limit) filter every day; both channels.
    let both = proto::MessageFilter {
        hotel_ids: vec!["h".into()],
        check_in_from: "2027-02-01".into(),
        check_in_to: "2027-02-20".into(),
        check_out_from: "2027-03-04".into(),
        check_out_to: "2027-03-10".into(),
        ..Default::default()
    };
    let expected: Vec<&str> = all
        .iter()
        .filter(|m| ("2027-02-01".."2027-02-21").contains(&m.check_in_date.as_str()))
        .filter(|m| ("2027-03-04".."2027-03-11").contains(&m.check_out_date.as_str()))
        .map(|m| m.id.as_str())
        .collect();
    assert!(!expected.is_empty());
    let got = list_all(&mut client, both, 3).await;
    let got: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(got, expected);
    server.stop().await;
}

/// Each shape of list statement is prepared once per connection and then reused: next
/// pages (a keyset cursor) and stay-date ranges too, which once held raw SQL that
/// diesel never caches, so every call parsed and planned them again.
async fn next_pages_are_prepared_once(db: TestDb) {
    use diesel::Connection;
    use diesel::connection::InstrumentationEvent;
    use sentlog::domain::filter::{FilterDraft, MessageQuery};
    use sentlog::domain::page::Cursor;
    use std::sync::{Arc, Mutex};

    let url = db.url.clone();
    let server = TestServer::start(db).await;
    let mut batch = Vec::new();
    for i in 0..6 {
        let mut m = new_message("h1", &format!("e{i}"), "+33612345678");
        m.check_in_date = format!("2026-12-0{}", i + 1);
        batch.push(m);
    }
    record(&mut server.messages(), batch).await;
    let (cached, started, pages) = tokio::task::spawn_blocking(move || {
        let store = sentlog::store::Store::open(&url, 1, 5_000).unwrap();
        let mut conn = store.conn().unwrap();
        let cached: Arc<Mutex<Vec<String>>> = Default::default();
        let started: Arc<Mutex<Vec<String>>> = Default::default();
        let (c, s) = (cached.clone(), started.clone());
        let watch = move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::CacheQuery { sql, .. } => c.lock().unwrap().push(sql.to_string()),
            InstrumentationEvent::StartQuery { query, .. } => {
                s.lock().unwrap().push(query.to_string())
            }
            _ => {}
        };
        match &mut **conn {
            sentlog::store::DbConn::Pg(c, _) => c.set_instrumentation(watch),
            sentlog::store::DbConn::Sqlite(c) => c.set_instrumentation(watch),
        }
        let hotel = FilterDraft {
            hotel_ids: vec!["h1".into()],
            ..Default::default()
        };
        let stay = FilterDraft {
            check_in_from: "2026-12-01".into(),
            check_in_to: "2026-12-05".into(),
            ..hotel.clone()
        };
        let mut pages = Vec::new();
        for draft in [hotel, stay] {
            let q = MessageQuery::build(
                draft,
                &Default::default(),
                sentlog::domain::stuck::StuckAfter::default().since(chrono::Utc::now()),
            )
            .unwrap();
            let first = sentlog::store::messages::list(&mut conn, &q, None, 2).unwrap();
            let last = first.last().unwrap();
            let cursor = Cursor {
                at: last.created_at,
                id: last.id.clone(),
            };
            for _ in 0..3 {
                let next = sentlog::store::messages::list(&mut conn, &q, Some(&cursor), 2).unwrap();
                pages.push(next.into_iter().map(|m| m.id).collect::<Vec<_>>());
            }
        }
        let (c, s) = (
            cached.lock().unwrap().clone(),
            started.lock().unwrap().clone(),
        );
        (c, s, pages)
    })
    .await
    .unwrap();
    // The same page each time, and never a message of the first page.
    assert_eq!(pages[0], pages[1]);
    assert_eq!(pages[1], pages[2]);
    assert_eq!(pages[0].len(), 2);
    assert_eq!(pages[3], pages[4]);
    // A started statement shows as its SQL text, then its bound values.
    let next_page_runs: Vec<&str> = started
        .iter()
        .filter(|s| s.contains(" < ("))
        .map(|s| s.split(" -- binds:").next().unwrap())
        .collect();
    assert!(
        next_page_runs.len() >= 6,
        "next pages ran: {next_page_runs:#?}"
    );
    let mut shapes = next_page_runs.clone();
    shapes.sort();
    shapes.dedup();
    for shape in shapes {
        let prepared = cached.iter().filter(|c| c.as_str() == shape).count();
        assert_eq!(prepared, 1, "prepared once, then reused: {shape}");
    }
    server.stop().await;
}

/// SQLite is built with its query planner stability guarantee (`.cargo/config.toml`,
/// `SQLITE_ENABLE_QPSG`). Without it, a statement whose plan had looked at a bound
/// value was prepared again at every call, though diesel had cached it: 36 % of the
/// server's time in a phone search (README, Performance).
#[test]
fn sqlite_keeps_a_statement_plan_across_bindings() {
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        used: i32,
    }
    let db = TestDb::sqlite();
    let store = sentlog::store::Store::open(&db.url, 1, 5_000).unwrap();
    let mut conn = store.conn().unwrap();
    let sentlog::store::DbConn::Sqlite(c) = &mut **conn else {
        unreachable!("a sqlite:// URL opens SQLite")
    };
    let qpsg: Used = diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
        .get_result(c)
        .unwrap();
    assert_eq!(qpsg.used, 1, "SQLite built without SQLITE_ENABLE_QPSG");
}

/// How PostgreSQL plans the statements of the server's one connection now, and how
/// the connection remembers it (read through `run_choosing_plans`, which leaves the
/// mode as the last call left it).
async fn plan_mode(server: &TestServer) -> (String, sentlog::store::Plans) {
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        plan_cache_mode: String,
    }
    server
        .store()
        .run_choosing_plans(|conn| {
            let sentlog::store::DbConn::Pg(c, remembered) = conn else {
                unreachable!("a postgres:// URL opens PostgreSQL")
            };
            let mode: Mode = diesel::sql_query("SHOW plan_cache_mode").get_result(c)?;
            Ok((mode.plan_cache_mode, *remembered))
        })
        .await
        .unwrap()
}

/// A message page whose filter one PostgreSQL plan serves for every hotel and value
/// (one hotel, a channel, a status other than DELIVERED and READ, a day of a stay
/// range read a day at a time...) is planned once per connection, and so is a count
/// of a phone or of a hotel's stay range; any other page or count, and every other
/// use of the connection, is planned per call with its values. The rows are the same
/// either way (README, Performance, stops 27 and 28).
#[tokio::test]
async fn postgres_plans_a_page_once_only_where_one_plan_serves() {
    use sentlog::store::Plans;

    let Some(db) = TestDb::postgres() else { return };
    let server = TestServer::start_with(db, |s| s.pool_size = 1).await;
    let mut client = server.messages();
    let mut batch = Vec::new();
    for i in 0..6 {
        let mut m = new_message("h1", &format!("m{i}"), &format!("+3361234567{i}"));
        if i % 2 == 0 {
            m.channel = Channel::Sms as i32;
        }
        m.check_in_date = "2026-12-10".into();
        batch.push(m);
    }
    record(&mut client, batch).await;
    let hotel = |f: proto::MessageFilter| proto::MessageFilter {
        hotel_ids: vec!["h1".into()],
        ..f
    };
    let all = list_all(&mut client, hotel(Default::default()), 2).await;
    assert_eq!(all.len(), 6);
    let status = all[0].status;
    assert_ne!(status, MessageStatus::Delivered as i32);

    let sms = list_all(
        &mut client,
        hotel(proto::MessageFilter {
            channels: vec![Channel::Sms as i32],
            ..Default::default()
        }),
        2,
    )
    .await;
    assert_eq!(sms.len(), 3);
    assert!(sms.iter().all(|m| m.channel == Channel::Sms as i32));
    assert_eq!(
        plan_mode(&server).await,
        ("force_generic_plan".into(), Plans::Shared)
    );

    let same_status = list_all(
        &mut client,
        hotel(proto::MessageFilter {
            statuses: vec![status],
            ..Default::default()
        }),
        4,
    )
    .await;
    assert_eq!(same_status.len(), 6);
    assert_eq!(plan_mode(&server).await.1, Plans::Shared);

    // DELIVERED is most of a big hotel's messages: its own plan differs.
    let delivered_filter = || {
        hotel(proto::MessageFilter {
            statuses: vec![MessageStatus::Delivered as i32],
            ..Default::default()
        })
    };
    let delivered = list_all(&mut client, delivered_filter(), 4).await;
    assert!(delivered.is_empty());
    assert_eq!(
        plan_mode(&server).await,
        ("force_custom_plan".into(), Plans::PerCall)
    );

    let stay = hotel(proto::MessageFilter {
        check_in_from: "2026-12-07".into(),
        check_in_to: "2026-12-13".into(),
        ..Default::default()
    });
    // A week of check-ins is read a day at a time: every day's statement walks one
    // day of the hotel's check-in index, whatever the day. Open-ended, the range's
    // plan depends on its width.
    list_all(&mut client, delivered_filter(), 4).await;
    assert_eq!(plan_mode(&server).await.1, Plans::PerCall);
    assert_eq!(list_all(&mut client, stay.clone(), 4).await.len(), 6);
    assert_eq!(plan_mode(&server).await.1, Plans::Shared);
    let open_stay = hotel(proto::MessageFilter {
        check_in_from: "2026-12-01".into(),
        ..Default::default()
    });
    assert_eq!(list_all(&mut client, open_stay, 50).await.len(), 6);
    assert_eq!(plan_mode(&server).await.1, Plans::PerCall);

    // Any other call plans per call, whatever the last page left: a count of SMS
    // (from the tallies, whose plan depends on the hotel).
    list_all(&mut client, hotel(Default::default()), 50).await;
    let sms_only = hotel(proto::MessageFilter {
        channels: vec![Channel::Sms as i32],
        ..Default::default()
    });
    assert_eq!(counts(&mut server.messages(), sms_only).await.total, 3);
    assert_eq!(
        plan_mode(&server).await,
        ("force_custom_plan".into(), Plans::PerCall)
    );

    // A hotel's count over a stay range reads that range's index whatever its width,
    // and a phone's count its index whatever the phone.
    let by_phone = hotel(proto::MessageFilter {
        phone: "+33612345671".into(),
        ..Default::default()
    });
    assert_eq!(counts(&mut server.messages(), stay).await.total, 6);
    assert_eq!(
        plan_mode(&server).await,
        ("force_generic_plan".into(), Plans::Shared)
    );
    for _ in 0..2 {
        assert_eq!(
            counts(&mut server.messages(), by_phone.clone()).await.total,
            1
        );
        assert_eq!(
            plan_mode(&server).await,
            ("force_generic_plan".into(), Plans::Shared)
        );
    }
    server.stop().await;
}
