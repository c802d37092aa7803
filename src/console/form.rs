//! Query strings and form bodies: read into the domain's filter drafts, and written
//! back into links, so a filtered view lives in its URL (bookmarkable, shareable).
use crate::domain::FieldError;
use crate::domain::error_category::ErrorCategory;
use crate::domain::filter::FilterDraft;
use crate::domain::flag::{FlagPriority, FlagReason, FlagState};
use crate::domain::message::{Channel, MessageStatus, optional_date};
use crate::domain::names::from_names;
use crate::service::flags::FlagFilterDraft;

/// `name=value` pairs in order; a name may repeat (multi-selects).
#[derive(Debug, Clone, Default)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub fn parse(raw: &str) -> Pairs {
        Self::parse_bytes(raw.as_bytes())
    }

    pub fn parse_bytes(raw: &[u8]) -> Pairs {
        Pairs(form_urlencoded::parse(raw).into_owned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The messages page's filter, as the URL holds it.
#[derive(Debug, Clone, Default)]
pub struct MessageFilterForm {
    pub hotels: Vec<String>,
    pub phone: String,
    pub campaign: String,
    pub check_in_from: String,
    pub check_in_to: String,
    pub check_out_from: String,
    pub check_out_to: String,
    pub channels: Vec<String>,
    pub statuses: Vec<String>,
    /// Only messages stuck now (`stuck=1`).
    pub stuck: bool,
    pub error_categories: Vec<String>,
    /// Only messages recorded on or after this day (`since=YYYY-MM-DD`, UTC).
    pub since: String,
    /// A page token: where the list goes on from.
    pub page: String,
}

impl MessageFilterForm {
    pub fn read(q: &Pairs) -> Self {
        MessageFilterForm {
            hotels: q.all("hotel"),
            phone: q.get("phone").to_string(),
            campaign: q.get("campaign").to_string(),
            check_in_from: q.get("check_in_from").to_string(),
            check_in_to: q.get("check_in_to").to_string(),
            check_out_from: q.get("check_out_from").to_string(),
            check_out_to: q.get("check_out_to").to_string(),
            channels: q.all("channel"),
            statuses: q.all("status"),
            stuck: !q.get("stuck").is_empty(),
            error_categories: q.all("error_category"),
            since: q.get("since").to_string(),
            page: q.get("page").to_string(),
        }
    }

    pub fn draft(&self) -> Result<FilterDraft, FieldError> {
        Ok(FilterDraft {
            hotel_ids: self.hotels.clone(),
            phone: self.phone.clone(),
            campaign_name: self.campaign.clone(),
            check_in_from: self.check_in_from.clone(),
            check_in_to: self.check_in_to.clone(),
            check_out_from: self.check_out_from.clone(),
            check_out_to: self.check_out_to.clone(),
            channels: from_names(
                "channel",
                &self.channels,
                &Channel::ALL,
                Channel::name,
                Channel::from_name,
            )?,
            statuses: from_names(
                "status",
                &self.statuses,
                &MessageStatus::ALL,
                MessageStatus::name,
                MessageStatus::from_name,
            )?,
            stuck: self.stuck,
            error_categories: from_names(
                "error_category",
                &self.error_categories,
                &ErrorCategory::ALL,
                ErrorCategory::name,
                ErrorCategory::from_name,
            )?,
            created_after: optional_date("since", &self.since)?
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
            ..FilterDraft::default()
        })
    }

    /// The filter as a query string (without the page), for links.
    pub fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for h in &self.hotels {
            out.append_pair("hotel", h);
        }
        for (k, v) in [
            ("phone", &self.phone),
            ("campaign", &self.campaign),
            ("check_in_from", &self.check_in_from),
            ("check_in_to", &self.check_in_to),
            ("check_out_from", &self.check_out_from),
            ("check_out_to", &self.check_out_to),
        ] {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        for c in &self.channels {
            out.append_pair("channel", c);
        }
        for s in &self.statuses {
            out.append_pair("status", s);
        }
        if self.stuck {
            out.append_pair("stuck", "1");
        }
        for c in &self.error_categories {
            out.append_pair("error_category", c);
        }
        if !self.since.is_empty() {
            out.append_pair("since", &self.since);
        }
        out.finish()
    }

    pub fn has(&self, field: &[String], value: &str) -> bool {
        field.iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

/// The flag queue's filter; no state chosen means the work still to do (open and
/// acknowledged flags).
#[derive(Debug, Clone, Default)]
pub struct FlagFilterForm {
    pub hotels: Vec<String>,
    pub states: Vec<String>,
    pub reasons: Vec<String>,
    pub priorities: Vec<String>,
    pub campaign: String,
    pub page: String,
}

impl FlagFilterForm {
    pub fn read(q: &Pairs) -> Self {
        FlagFilterForm {
            hotels: q.all("hotel"),
            states: q.all("state"),
            reasons: q.all("reason"),
            priorities: q.all("priority"),
            campaign: q.get("campaign").to_string(),
            page: q.get("page").to_string(),
        }
    }

    pub fn draft(&self) -> Result<FlagFilterDraft, FieldError> {
        let mut states = from_names(
            "state",
            &self.states,
            &FlagState::ALL,
            FlagState::name,
            FlagState::from_name,
        )?;
        if states.is_empty() {
            states = vec![FlagState::Open, FlagState::Acknowledged];
        }
        Ok(FlagFilterDraft {
            hotel_ids: self.hotels.clone(),
            states,
            reasons: from_names(
                "reason",
                &self.reasons,
                &FlagReason::ALL,
                FlagReason::name,
                FlagReason::from_name,
            )?,
            priorities: from_names(
                "priority",
                &self.priorities,
                &FlagPriority::ALL,
                FlagPriority::name,
                FlagPriority::from_name,
            )?,
            campaign_name: self.campaign.clone(),
            ..FlagFilterDraft::default()
        })
    }

    pub fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for h in &self.hotels {
            out.append_pair("hotel", h);
        }
        for s in &self.states {
            out.append_pair("state", s);
        }
        for r in &self.reasons {
            out.append_pair("reason", r);
        }
        for p in &self.priorities {
            out.append_pair("priority", p);
        }
        if !self.campaign.is_empty() {
            out.append_pair("campaign", &self.campaign);
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_survives_its_own_link() {
        let q = Pairs::parse(
            "phone=06+12+34+56+78&channel=sms&channel=whatsapp&status=DELIVERED&check_in_from=2026-11-01&hotel=h1&page=abc",
        );
        let form = MessageFilterForm::read(&q);
        let again = MessageFilterForm::read(&Pairs::parse(&form.query_string()));
        assert_eq!(again.phone, "06 12 34 56 78");
        assert_eq!(again.channels, ["sms", "whatsapp"]);
        assert_eq!(again.page, "", "the page is not part of the filter");
        let draft = again.draft().unwrap();
        assert_eq!(draft.channels, [Channel::Sms, Channel::Whatsapp]);
        assert_eq!(draft.statuses, [MessageStatus::Delivered]);
        assert_eq!(draft.hotel_ids, ["h1"]);
    }

    #[test]
    fn unknown_values_name_their_field() {
        let form = MessageFilterForm::read(&Pairs::parse("channel=pigeon"));
        assert_eq!(form.draft().unwrap_err().field, "channel");
        let flags = FlagFilterForm::read(&Pairs::parse("reason=bad"));
        assert_eq!(flags.draft().unwrap_err().field, "reason");
    }

    #[test]
    fn the_flag_queue_defaults_to_work_still_to_do() {
        let draft = FlagFilterForm::default().draft().unwrap();
        assert_eq!(draft.states, [FlagState::Open, FlagState::Acknowledged]);
    }
}
