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
}

impl ErrorCategory {
    pub const ALL: [ErrorCategory; 11] = [
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
        }
    }
}

/// The published codes we know, per provider. Provider names are compared lower-case;
/// SendGrid bounce classifications case-insensitively.
const TABLE: &[(&str, &str, ErrorCategory)] = &[
    ("twilio", "21211", ErrorCategory::InvalidNumber),
    ("twilio", "21614", ErrorCategory::InvalidNumber),
    ("twilio", "30005", ErrorCategory::InvalidNumber),
    ("twilio", "21635", ErrorCategory::NotMobile),
    ("twilio", "30006", ErrorCategory::NotMobile),
    ("twilio", "30003", ErrorCategory::Unreachable),
    ("twilio", "21610", ErrorCategory::OptedOut),
    ("twilio", "30007", ErrorCategory::ContentRejected),
    ("whatsapp_cloud", "131026", ErrorCategory::NotOnChannel),
    ("whatsapp_cloud", "131049", ErrorCategory::RateLimited),
    ("whatsapp_cloud", "131048", ErrorCategory::RateLimited),
    ("sendgrid", "invalid address", ErrorCategory::InvalidAddress),
    (
        "sendgrid",
        "mailbox unavailable",
        ErrorCategory::MailboxUnavailable,
    ),
    ("sendgrid", "content", ErrorCategory::ContentRejected),
    ("sendgrid", "reputation", ErrorCategory::ContentRejected),
    (
        "sendgrid",
        "frequency or volume too high",
        ErrorCategory::RateLimited,
    ),
    ("sendgrid", "technical failure", ErrorCategory::Other),
    ("sendgrid", "unclassified", ErrorCategory::Other),
];

/// The category of a provider's error code. No code: no error. A code the table does
/// not know, or an unknown provider: OTHER, never an error.
pub fn categorize(provider: Option<&str>, error_code: Option<&str>) -> ErrorCategory {
    let Some(code) = error_code.map(str::trim).filter(|c| !c.is_empty()) else {
        return ErrorCategory::None;
    };
    let provider = provider.unwrap_or("").trim().to_lowercase();
    let code = code.to_lowercase();
    TABLE
        .iter()
        .find(|(p, c, _)| *p == provider && *c == code)
        .map(|(_, _, category)| *category)
        .unwrap_or(ErrorCategory::Other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCategory::*;

    #[test]
    fn every_published_row() {
        let rows = [
            ("twilio", "21211", InvalidNumber),
            ("twilio", "21614", InvalidNumber),
            ("twilio", "30005", InvalidNumber),
            ("twilio", "21635", NotMobile),
            ("twilio", "30006", NotMobile),
            ("twilio", "30003", Unreachable),
            ("twilio", "21610", OptedOut),
            ("twilio", "30007", ContentRejected),
            ("whatsapp_cloud", "131026", NotOnChannel),
            ("whatsapp_cloud", "131049", RateLimited),
            ("whatsapp_cloud", "131048", RateLimited),
            ("sendgrid", "Invalid Address", InvalidAddress),
            ("sendgrid", "Mailbox Unavailable", MailboxUnavailable),
            ("sendgrid", "Content", ContentRejected),
            ("sendgrid", "Reputation", ContentRejected),
            ("sendgrid", "Frequency or Volume Too High", RateLimited),
            ("sendgrid", "Technical Failure", Other),
            ("sendgrid", "Unclassified", Other),
        ];
        for (provider, code, expected) in rows {
            assert_eq!(
                categorize(Some(provider), Some(code)),
                expected,
                "{provider} {code}"
            );
        }
    }

    #[test]
    fn unknown_is_other_and_absent_is_none() {
        assert_eq!(categorize(Some("twilio"), Some("99999")), Other);
        assert_eq!(categorize(Some("carrier-pigeon"), Some("21211")), Other);
        assert_eq!(categorize(Option::None, Some("21211")), Other);
        assert_eq!(
            categorize(Some("twilio"), Option::None),
            ErrorCategory::None
        );
        assert_eq!(categorize(Some("twilio"), Some("  ")), ErrorCategory::None);
        assert_eq!(categorize(Some("Twilio"), Some(" 21211 ")), InvalidNumber);
    }
}
