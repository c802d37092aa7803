//! Provider webhooks: the events a verified webhook carried go down the same path as
//! UpdateStatuses (precedence, duplicates, parking, suppressions, live feed), under
//! the provider account's hotel scope; WhatsApp's billed category fills a message's
//! empty category.
use std::collections::BTreeMap;

use super::{AppState, MAX_BATCH, ServiceError};
use crate::domain::access::{Caller, HotelScope, Role};
use crate::domain::webhook::{Mapped, Provider};
use crate::store::messages;

/// What became of a webhook's events, by outcome (`applied`, `stale`, `duplicate`,
/// `rejected`, `parked`, `acknowledged`): the answer's body and the metrics.
pub type Outcomes = BTreeMap<&'static str, usize>;

/// The identity a provider account's webhooks act under: it may only write statuses,
/// and only for its hotels.
pub fn caller(provider: Provider, account: &str, hotels: &HotelScope) -> Caller {
    Caller {
        name: format!("webhook:{}:{account}", provider.name()),
        role: Role::Ingest,
        hotels: hotels.clone(),
    }
}

/// Applies what one verified webhook carried.
pub async fn ingest(
    state: &AppState,
    caller: &Caller,
    provider: Provider,
    mapped: Mapped,
) -> Result<Outcomes, ServiceError> {
    let mut outcomes = Outcomes::new();
    let acknowledged = mapped.acknowledged.len();
    if acknowledged > 0 {
        outcomes.insert("acknowledged", acknowledged);
    }
    let mut events = mapped.events;
    // A SendGrid post can hold more events than one UpdateStatuses batch.
    while !events.is_empty() {
        let rest = events.split_off(events.len().min(MAX_BATCH));
        let batch = std::mem::replace(&mut events, rest);
        let results =
            super::statuses::update(state, caller, batch.into_iter().map(Ok).collect()).await?;
        for r in results {
            *outcomes.entry(r.outcome.name()).or_default() += 1;
        }
    }
    if !mapped.categories.is_empty() {
        let hotels = caller.all_hotels().sql_list();
        let categories = mapped.categories;
        state
            .store
            .run(move |c| {
                messages::fill_categories(c, provider.message_provider(), &categories, &hotels)
            })
            .await
            .map_err(ServiceError::store("message"))?;
    }
    for (outcome, n) in &outcomes {
        super::metrics::record_webhook_events(provider.name(), outcome, *n);
    }
    Ok(outcomes)
}
