//! The Mews adapter against a local server speaking Mews's documented wire format.
use std::time::{Duration, Instant};

use sentlog::pms::mews::Mews;
use sentlog::pms::{GuestKey, PmsDirectory, PmsError};
use serde_json::json;

use crate::mews_mock::*;

fn by_guest(id: &str) -> GuestKey {
    GuestKey {
        pms_guest_id: Some(id.into()),
        pms_reservation_id: None,
    }
}

fn by_reservation(id: &str) -> GuestKey {
    GuestKey {
        pms_guest_id: None,
        pms_reservation_id: Some(id.into()),
    }
}

fn state_with_customers(n: usize) -> MockState {
    let mut s = MockState::default();
    for i in 0..n {
        let id = format!("c{i:04}");
        s.customers.insert(
            id.clone(),
            customer(
                &id,
                "Guest",
                &format!("N{i}"),
                Some(&format!("00420 601 {:03} {:03}", i / 1000, i % 1000)),
                None,
            ),
        );
    }
    s
}

#[tokio::test]
async fn pages_through_customers_with_the_documented_request() {
    let mock = MockMews::start(state_with_customers(25)).await;
    let mut settings = mock.settings();
    settings.page_size = 10;
    let mews = Mews::new(settings).unwrap();
    let keys: Vec<GuestKey> = (0..25)
        .map(|i| by_guest(&format!("c{i:04}")))
        .chain([by_guest("nobody")])
        .collect();
    let guests = mews.find_guests("h", &keys).await.unwrap();
    assert_eq!(guests.len(), 26);
    assert_eq!(
        guests[7].as_ref().unwrap().phone.as_deref(),
        Some("00420 601 000 007")
    );
    assert_eq!(
        guests[7].as_ref().unwrap().full_name.as_deref(),
        Some("Guest N7")
    );
    assert!(guests[25].is_none(), "an unknown customer is no guest");
    let requests = mock.requests();
    // 25 customers at 10 a page: 3 pages, each passing back the previous cursor.
    let customer_calls: Vec<_> = requests
        .iter()
        .filter(|(p, _)| p == "customers/getAll")
        .collect();
    assert_eq!(customer_calls.len(), 3, "{requests:?}");
    assert_eq!(customer_calls[0].1["Limitation"]["Cursor"], json!(null));
    assert_eq!(customer_calls[1].1["Limitation"]["Cursor"], json!("c0009"));
    assert_eq!(customer_calls[2].1["Limitation"]["Cursor"], json!("c0019"));
    for (_, body) in &requests {
        assert_eq!(body["ClientToken"], json!(CLIENT_TOKEN));
        assert_eq!(body["AccessToken"], json!(ACCESS_TOKEN));
        assert!(body["Client"].as_str().unwrap().starts_with("sentlog"));
        assert_eq!(
            body["Extent"],
            json!({"Customers": true, "Addresses": false})
        );
        let count = body["Limitation"]["Count"].as_u64().unwrap();
        assert!((1..=1000).contains(&count));
    }
}

#[tokio::test]
async fn reservation_leads_to_its_customer_and_merges_are_followed() {
    let mut state = state_with_customers(3);
    // c0001 was merged into c0002: its data lives on the target.
    state.customers.get_mut("c0001").unwrap()["MergeTargetId"] = json!("c0002");
    state.customers.get_mut("c0002").unwrap()["Email"] = json!("guest@example.com");
    state.customers.get_mut("c0002").unwrap()["HasOtaEmail"] = json!(true);
    state.reservations.insert(
        "r-1".into(),
        json!({"Id": "r-1", "AccountId": "c0000", "AccountType": "Customer"}),
    );
    state.reservations.insert(
        "r-company".into(),
        json!({"Id": "r-company", "AccountId": "company-9", "AccountType": "Company"}),
    );
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let guests = mews
        .find_guests(
            "h",
            &[
                by_reservation("r-1"),
                by_guest("c0001"),
                by_reservation("r-company"),
                by_reservation("r-unknown"),
                GuestKey {
                    pms_guest_id: Some("gone".into()),
                    pms_reservation_id: Some("r-1".into()),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        guests[0].as_ref().unwrap().full_name.as_deref(),
        Some("Guest N0")
    );
    let merged = guests[1].as_ref().unwrap();
    assert_eq!(merged.full_name.as_deref(), Some("Guest N2"));
    assert!(merged.email_is_ota_relay);
    assert!(guests[2].is_none(), "a company account is no guest");
    assert!(guests[3].is_none());
    assert_eq!(
        guests[4].as_ref().unwrap().full_name.as_deref(),
        Some("Guest N0"),
        "falls back to the reservation"
    );
    let paths: Vec<String> = mock.requests().into_iter().map(|(p, _)| p).collect();
    assert!(paths.contains(&"reservations/getAll/2023-06-06".to_string()));
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_hides_tokens() {
    let mut state = state_with_customers(1);
    state.failures.push_back((401, None));
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let err = mews
        .find_guests("h", &[by_guest("c0000")])
        .await
        .unwrap_err();
    assert_eq!(err, PmsError::Unauthorized(401));
    assert_eq!(mock.requests().len(), 1, "401 is not retried");
    assert!(!err.to_string().contains("SECRET"));
}

#[tokio::test]
async fn rate_limits_are_waited_out_with_and_without_retry_after() {
    let mut state = state_with_customers(1);
    state.failures.push_back((429, Some(1)));
    state.failures.push_back((429, None));
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let started = Instant::now();
    let guests = mews.find_guests("h", &[by_guest("c0000")]).await.unwrap();
    assert!(guests[0].is_some());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_or_give_up() {
    let mut state = state_with_customers(1);
    state.failures.push_back((500, None));
    state.failures.push_back((503, None));
    state.failures.push_back((409, None));
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let guests = mews.find_guests("h", &[by_guest("c0000")]).await.unwrap();
    assert!(guests[0].is_some());
    assert_eq!(mock.requests().len(), 4);

    let mut state = state_with_customers(1);
    for _ in 0..10 {
        state.failures.push_back((502, None));
    }
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let err = mews
        .find_guests("h", &[by_guest("c0000")])
        .await
        .unwrap_err();
    assert!(matches!(err, PmsError::Unavailable(_)), "{err:?}");
    assert_eq!(mock.requests().len(), 5, "max_attempts");
}

#[tokio::test]
async fn too_heavy_requests_retry_with_a_smaller_page() {
    let mut state = state_with_customers(4);
    state.failures.push_back((408, None));
    let mock = MockMews::start(state).await;
    let mut settings = mock.settings();
    settings.page_size = 4;
    let mews = Mews::new(settings).unwrap();
    let keys: Vec<GuestKey> = (0..4).map(|i| by_guest(&format!("c{i:04}"))).collect();
    let guests = mews.find_guests("h", &keys).await.unwrap();
    assert!(guests.iter().all(Option::is_some));
    let counts: Vec<u64> = mock
        .requests()
        .iter()
        .map(|(_, b)| b["Limitation"]["Count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts[0], 4);
    assert_eq!(counts[1], 2, "{counts:?}");
}

#[tokio::test]
async fn bad_requests_are_refused_without_retry() {
    let mut state = state_with_customers(1);
    state.failures.push_back((400, None));
    let mock = MockMews::start(state).await;
    let mews = Mews::new(mock.settings()).unwrap();
    let err = mews
        .find_guests("h", &[by_guest("c0000")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, PmsError::Refused { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(mock.requests().len(), 1);
}
