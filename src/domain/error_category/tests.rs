use std::collections::HashSet;

use super::*;
use ErrorCategory::*;

/// The providers' published lists, as `../shared/docs/PROVIDERS.md` reproduces them
/// (§2 Twilio, §3.6 WhatsApp Cloud API, §4.2 and §4.3 SendGrid), minus the rows it
/// marks "not confirmed" (WhatsApp 133010).
const PUBLISHED: &[(&str, &[&str])] = &[
    (
        "twilio",
        &[
            "21211", "21408", "21606", "21610", "21612", "21614", "21635", "21659", "30001",
            "30002", "30003", "30004", "30005", "30006", "30007", "30008", "30009", "30010",
            "30034", "30450", "30500", "63003", "63013", "63014", "63016", "63018", "63023",
            "63024", "63032", "57012",
        ],
    ),
    (
        "whatsapp_cloud",
        &[
            "130429", "130472", "131026", "131031", "131042", "131047", "131048", "131049",
            "131050", "131051", "131052", "131053", "131056", "132000", "132001", "132005",
            "132007", "132012", "132015", "132016", "368",
        ],
    ),
    (
        "sendgrid",
        &[
            "Invalid Address",
            "Technical Failure",
            "Content",
            "Reputation",
            "Frequency or Volume Too High",
            "Mailbox Unavailable",
            "Unclassified",
            "Bounced Address",
            "Unsubscribed Address",
            "Spam Reporting Address",
            "Invalid",
            "Spam Content",
            "Invalid SMTPAPI header",
            "Recipient List over Package Quota",
        ],
    ),
];

/// API.md's two minimum tables, row by row.
#[test]
fn every_row_api_md_requires() {
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
        ("twilio", "63016", OutsideWindow),
        ("whatsapp_cloud", "131047", OutsideWindow),
        ("whatsapp_cloud", "131050", MarketingOptOut),
        ("whatsapp_cloud", "130472", RateLimited),
        ("whatsapp_cloud", "131042", SenderSetup),
        ("whatsapp_cloud", "132000", SenderSetup),
        ("whatsapp_cloud", "132001", SenderSetup),
        ("whatsapp_cloud", "132005", SenderSetup),
        ("whatsapp_cloud", "132007", SenderSetup),
        ("whatsapp_cloud", "132012", SenderSetup),
        ("whatsapp_cloud", "132015", SenderSetup),
        ("whatsapp_cloud", "132016", SenderSetup),
        ("twilio", "21408", SenderSetup),
        ("twilio", "21606", SenderSetup),
        ("twilio", "21659", SenderSetup),
        ("sendgrid", "Bounced Address", InvalidAddress),
        ("sendgrid", "Invalid", InvalidAddress),
        ("sendgrid", "Unsubscribed Address", OptedOut),
        ("sendgrid", "Spam Reporting Address", OptedOut),
    ];
    for (provider, code, expected) in rows {
        assert_eq!(
            categorize(Some(provider), Some(code)),
            expected,
            "{provider} {code}"
        );
    }
}

/// Every row of the table is reached by `categorize` with its own category (no row is
/// shadowed or unreachable), cites a source, and is one of a published list.
#[test]
fn every_row_is_published_cited_and_reached() {
    let mut seen = HashSet::new();
    for r in TABLE {
        assert!(
            seen.insert((r.provider, r.code.to_lowercase())),
            "{} {} twice",
            r.provider,
            r.code
        );
        assert!(
            !r.source.trim().is_empty(),
            "{} {} cites nothing",
            r.provider,
            r.code
        );
        let published = PUBLISHED
            .iter()
            .any(|(p, codes)| *p == r.provider && codes.contains(&r.code));
        assert!(
            published,
            "{} {} is in no published list",
            r.provider, r.code
        );
        assert_eq!(
            categorize(Some(r.provider), Some(r.code)),
            r.category,
            "{} {}",
            r.provider,
            r.code
        );
        // Written as a provider sends it: other case, padding.
        let loud = format!("  {}  ", r.code.to_uppercase());
        assert_eq!(
            categorize(Some(&r.provider.to_uppercase()), Some(&loud)),
            r.category
        );
    }
}

/// The table and the providers' lists stay in step: every published code has a row
/// (OTHER only where the row says why), so no published code falls to OTHER unseen.
#[test]
fn every_published_code_has_a_row() {
    for (provider, codes) in PUBLISHED {
        for code in *codes {
            let row = TABLE
                .iter()
                .find(|r| r.provider == *provider && r.code == *code);
            assert!(
                row.is_some(),
                "{provider} {code} is published but has no row"
            );
        }
    }
    // And most of them say something better than OTHER.
    let other = TABLE.iter().filter(|r| r.category == Other).count();
    assert!(
        other * 5 < TABLE.len(),
        "{other} of {} rows are OTHER",
        TABLE.len()
    );
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

#[test]
fn failures_not_about_the_recipient() {
    let skipped: Vec<ErrorCategory> = ErrorCategory::ALL
        .into_iter()
        .filter(|c| c.is_not_about_the_recipient())
        .collect();
    assert_eq!(
        skipped,
        [
            OptedOut,
            ContentRejected,
            RateLimited,
            OutsideWindow,
            MarketingOptOut,
            SenderSetup
        ]
    );
}
