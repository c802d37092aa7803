//! Provider error codes -> one category an agent can filter on across providers.

/// Why a message failed, whatever the provider. Codes are stored: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ErrorCategory {
    /// No error.
    #[default]
    None = 0,
    InvalidNumber = 1,
    NotMobile = 2,
    Unreachable = 3,
    NotOnChannel = 4,
    InvalidAddress = 5,
    MailboxUnavailable = 6,
    OptedOut = 7,
    ContentRejected = 8,
    RateLimited = 9,
    Other = 10,
    /// WhatsApp free-form message outside the 24-hour customer-service window.
    OutsideWindow = 11,
    /// The recipient stopped marketing messages only.
    MarketingOptOut = 12,
    /// The sender's account, billing, number, region permission or template.
    SenderSetup = 13,
}

impl ErrorCategory {
    pub const ALL: [ErrorCategory; 14] = [
        ErrorCategory::None,
        ErrorCategory::InvalidNumber,
        ErrorCategory::NotMobile,
        ErrorCategory::Unreachable,
        ErrorCategory::NotOnChannel,
        ErrorCategory::InvalidAddress,
        ErrorCategory::MailboxUnavailable,
        ErrorCategory::OptedOut,
        ErrorCategory::ContentRejected,
        ErrorCategory::RateLimited,
        ErrorCategory::Other,
        ErrorCategory::OutsideWindow,
        ErrorCategory::MarketingOptOut,
        ErrorCategory::SenderSetup,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Reads `error_category_x`, `X` or `ERROR_CATEGORY_X` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "ERROR_CATEGORY_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorCategory::None => "NONE",
            ErrorCategory::InvalidNumber => "INVALID_NUMBER",
            ErrorCategory::NotMobile => "NOT_MOBILE",
            ErrorCategory::Unreachable => "UNREACHABLE",
            ErrorCategory::NotOnChannel => "NOT_ON_CHANNEL",
            ErrorCategory::InvalidAddress => "INVALID_ADDRESS",
            ErrorCategory::MailboxUnavailable => "MAILBOX_UNAVAILABLE",
            ErrorCategory::OptedOut => "OPTED_OUT",
            ErrorCategory::ContentRejected => "CONTENT_REJECTED",
            ErrorCategory::RateLimited => "RATE_LIMITED",
            ErrorCategory::Other => "OTHER",
            ErrorCategory::OutsideWindow => "OUTSIDE_WINDOW",
            ErrorCategory::MarketingOptOut => "MARKETING_OPT_OUT",
            ErrorCategory::SenderSetup => "SENDER_SETUP",
        }
    }

    /// The failure says nothing about the recipient's address: a CSM cannot fix it by
    /// correcting a number, so the reconciliation skips it.
    pub fn is_not_about_the_recipient(self) -> bool {
        matches!(
            self,
            ErrorCategory::OptedOut
                | ErrorCategory::MarketingOptOut
                | ErrorCategory::OutsideWindow
                | ErrorCategory::ContentRejected
                | ErrorCategory::RateLimited
                | ErrorCategory::SenderSetup
        )
    }
}

/// One row of the table: a provider's published code, its category, and where the
/// meaning comes from (the source keys of `../shared/docs/PROVIDERS.md` §6).
pub struct Row {
    pub provider: &'static str,
    /// As published; compared trimmed and case-insensitively.
    pub code: &'static str,
    pub category: ErrorCategory,
    pub source: &'static str,
}

const fn row(
    provider: &'static str,
    code: &'static str,
    category: ErrorCategory,
    source: &'static str,
) -> Row {
    Row {
        provider,
        code,
        category,
        source,
    }
}

use ErrorCategory as E;

/// The published codes whose meaning is clear, per provider. A code of the providers'
/// lists that is kept OTHER on purpose is a row too, so that the table and the lists
/// stay in step (see the tests).
pub const TABLE: &[Row] = &[
    // Twilio messaging errors, SMS and WhatsApp. TE: twilio.com/docs/api/errors/NNNNN;
    // TD: Twilio's error dictionary (twilio.com/docs/api/errors/twilio-error-codes.json).
    row(
        "twilio",
        "21211",
        E::InvalidNumber,
        "TD: invalid 'To' number",
    ),
    row(
        "twilio",
        "21408",
        E::SenderSetup,
        "TD: destination region not enabled (Geo-Permissions)",
    ),
    row(
        "twilio",
        "21606",
        E::SenderSetup,
        "TE, TD: 'From' not message-capable for this destination",
    ),
    row("twilio", "21610", E::OptedOut, "TD: recipient replied STOP"),
    row(
        "twilio",
        "21612",
        E::Other,
        "TE(de), TD: sender-ID rules, format or no route: causes mixed",
    ),
    row(
        "twilio",
        "21614",
        E::InvalidNumber,
        "TE: 'To' is not a valid mobile number",
    ),
    row("twilio", "21635", E::NotMobile, "TE: 'To' is a landline"),
    row(
        "twilio",
        "21659",
        E::SenderSetup,
        "TE: 'From' is not a Twilio number for this country",
    ),
    row(
        "twilio",
        "30001",
        E::RateLimited,
        "TD: queue overflow, sending above throughput",
    ),
    row("twilio", "30002", E::SenderSetup, "TE: account suspended"),
    row(
        "twilio",
        "30003",
        E::Unreachable,
        "TE: handset unreachable (off, no signal)",
    ),
    row(
        "twilio",
        "30004",
        E::Other,
        "TD: blocked for this destination: by whom is not said",
    ),
    row(
        "twilio",
        "30005",
        E::InvalidNumber,
        "TD: unknown destination handset",
    ),
    row(
        "twilio",
        "30006",
        E::NotMobile,
        "TE: landline or unreachable carrier",
    ),
    row(
        "twilio",
        "30007",
        E::ContentRejected,
        "TD: filtered as spam",
    ),
    row("twilio", "30008", E::Other, "TD: unknown error"),
    row(
        "twilio",
        "30009",
        E::Other,
        "TD: inbound message segment missing: not a send failure",
    ),
    row(
        "twilio",
        "30010",
        E::SenderSetup,
        "TD: price exceeds MaxPrice",
    ),
    row(
        "twilio",
        "30034",
        E::SenderSetup,
        "TD: US A2P 10DLC number not registered",
    ),
    row(
        "twilio",
        "30450",
        E::RateLimited,
        "TD: SMS pumping protection (temporary)",
    ),
    row("twilio", "30500", E::Other, "TE: Twilio internal error"),
    row(
        "twilio",
        "57012",
        E::Other,
        "TE: inbound webhook signature invalid: not a send failure",
    ),
    row(
        "twilio",
        "63003",
        E::NotOnChannel,
        "TD: the channel could not find the To address",
    ),
    row(
        "twilio",
        "63013",
        E::ContentRejected,
        "TD: channel provider policy violation",
    ),
    row(
        "twilio",
        "63014",
        E::OptedOut,
        "TE: blocked by the user (blocked the sender, withdrew consent)",
    ),
    row(
        "twilio",
        "63016",
        E::OutsideWindow,
        "TE: free-form message outside the session window",
    ),
    row("twilio", "63018", E::RateLimited, "TE: channel rate limit"),
    row("twilio", "63023", E::Other, "TE: channel generic error"),
    row(
        "twilio",
        "63024",
        E::InvalidNumber,
        "TD: invalid message recipient",
    ),
    row(
        "twilio",
        "63032",
        E::RateLimited,
        "TD: the user's number is in a WhatsApp experiment",
    ),
    // WhatsApp Cloud API. M4: developers.facebook.com/documentation/business-messaging/
    // whatsapp/support/error-codes (canonical); meanings as reproduced in M6 (pywa).
    row(
        "whatsapp_cloud",
        "368",
        E::SenderSetup,
        "M4, M6: sender temporarily blocked for a policy violation",
    ),
    row(
        "whatsapp_cloud",
        "130429",
        E::RateLimited,
        "M4, M6: throughput rate limit",
    ),
    row(
        "whatsapp_cloud",
        "130472",
        E::RateLimited,
        "M4, M6: number in a marketing-message experiment",
    ),
    row(
        "whatsapp_cloud",
        "131026",
        E::NotOnChannel,
        "M4, M6: undeliverable: not on WhatsApp, terms, old app",
    ),
    row(
        "whatsapp_cloud",
        "131031",
        E::SenderSetup,
        "M4, M6: business account locked",
    ),
    row(
        "whatsapp_cloud",
        "131042",
        E::SenderSetup,
        "M4, M6: payment-method problem",
    ),
    row(
        "whatsapp_cloud",
        "131047",
        E::OutsideWindow,
        "M4, M6: re-engagement, > 24 h since the user's reply",
    ),
    row(
        "whatsapp_cloud",
        "131048",
        E::RateLimited,
        "M4, M6: spam rate limit",
    ),
    row(
        "whatsapp_cloud",
        "131049",
        E::RateLimited,
        "M4, M6: per-user marketing limit (ecosystem engagement)",
    ),
    row(
        "whatsapp_cloud",
        "131050",
        E::MarketingOptOut,
        "M4, M6: the user stopped marketing messages",
    ),
    row(
        "whatsapp_cloud",
        "131051",
        E::ContentRejected,
        "M4, M6: unsupported message type",
    ),
    row(
        "whatsapp_cloud",
        "131052",
        E::Other,
        "M4, M6: download of user-sent media failed: inbound",
    ),
    row(
        "whatsapp_cloud",
        "131053",
        E::ContentRejected,
        "M4, M6: upload of the message's media failed",
    ),
    row(
        "whatsapp_cloud",
        "131056",
        E::RateLimited,
        "M4, M6: pair rate limit (one recipient)",
    ),
    row(
        "whatsapp_cloud",
        "132000",
        E::SenderSetup,
        "M4, M6: template parameter count mismatch",
    ),
    row(
        "whatsapp_cloud",
        "132001",
        E::SenderSetup,
        "M4, M6: template missing in that language or not approved",
    ),
    row(
        "whatsapp_cloud",
        "132005",
        E::SenderSetup,
        "M4, M6: template text too long",
    ),
    row(
        "whatsapp_cloud",
        "132007",
        E::SenderSetup,
        "M4, M6: template content policy violation",
    ),
    row(
        "whatsapp_cloud",
        "132012",
        E::SenderSetup,
        "M4, M6: template parameter format mismatch",
    ),
    row(
        "whatsapp_cloud",
        "132015",
        E::SenderSetup,
        "M4, M6: template paused (low quality)",
    ),
    row(
        "whatsapp_cloud",
        "132016",
        E::SenderSetup,
        "M4, M6: template disabled",
    ),
    // SendGrid bounce classifications (S7 enum, S8 docs.sendgrid.com/ui/analytics-and-
    // reporting/bounce-and-block-classifications) and drop reasons (S1 event.md, S5
    // glossary/drops.md).
    row(
        "sendgrid",
        "Invalid Address",
        E::InvalidAddress,
        "S7, S8: mailbox does not exist or malformed",
    ),
    row(
        "sendgrid",
        "Mailbox Unavailable",
        E::MailboxUnavailable,
        "S7: bounce classification",
    ),
    row(
        "sendgrid",
        "Content",
        E::ContentRejected,
        "S7: bounce classification",
    ),
    row(
        "sendgrid",
        "Reputation",
        E::ContentRejected,
        "S7: bounce classification",
    ),
    row(
        "sendgrid",
        "Frequency or Volume Too High",
        E::RateLimited,
        "S7: bounce classification",
    ),
    row(
        "sendgrid",
        "Technical Failure",
        E::Other,
        "S7: bounce classification, meaning not published",
    ),
    row(
        "sendgrid",
        "Unclassified",
        E::Other,
        "S7: bounce classification",
    ),
    row(
        "sendgrid",
        "Bounced Address",
        E::InvalidAddress,
        "S1, S5: dropped, the address bounced before",
    ),
    row(
        "sendgrid",
        "Invalid",
        E::InvalidAddress,
        "S1, S5: dropped, on the Invalid Emails list",
    ),
    row(
        "sendgrid",
        "Unsubscribed Address",
        E::OptedOut,
        "S1, S5: dropped, the recipient unsubscribed",
    ),
    row(
        "sendgrid",
        "Spam Reporting Address",
        E::OptedOut,
        "S1, S5: dropped, the recipient reported spam",
    ),
    row(
        "sendgrid",
        "Spam Content",
        E::ContentRejected,
        "S1, S5: dropped by the Spam Checker",
    ),
    row(
        "sendgrid",
        "Invalid SMTPAPI header",
        E::SenderSetup,
        "S1, S5: dropped, the sender's request is malformed",
    ),
    row(
        "sendgrid",
        "Recipient List over Package Quota",
        E::SenderSetup,
        "S1, S5: dropped, the plan's quota",
    ),
];

/// A fingerprint of the table: stored categories follow the table that has it.
pub fn table_fingerprint() -> String {
    let text: String = TABLE
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{};",
                r.provider,
                r.code.to_lowercase(),
                r.category.code()
            )
        })
        .collect();
    super::page::fingerprint(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The category of a provider's error code. No code: no error. A code the table does
/// not know, or an unknown provider: OTHER, never an error.
pub fn categorize(provider: Option<&str>, error_code: Option<&str>) -> ErrorCategory {
    let Some(code) = error_code.map(str::trim).filter(|c| !c.is_empty()) else {
        return ErrorCategory::None;
    };
    let provider = provider.unwrap_or("").trim();
    TABLE
        .iter()
        .find(|r| r.provider.eq_ignore_ascii_case(provider) && r.code.eq_ignore_ascii_case(code))
        .map(|r| r.category)
        .unwrap_or(ErrorCategory::Other)
}

#[cfg(test)]
mod tests;
