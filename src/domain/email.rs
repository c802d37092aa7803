//! Email addresses: compared trimmed and case-folded.

/// The form emails are stored and compared in.
pub fn normalize(input: &str) -> String {
    input.trim().to_lowercase()
}

/// A deliberately lenient syntax check: one `@`, a non-empty local part, a dotted
/// domain, no white space. Providers are the judge of deliverability.
pub fn is_valid(input: &str) -> bool {
    let email = input.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// `j***@example.com`: enough to recognise in a log, not enough to leak.
pub fn mask(input: &str) -> String {
    match input.trim().split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid("anna@example.com"));
        assert!(is_valid("  Anna.B+x@Mail.Example.org "));
        assert!(!is_valid("anna"));
        assert!(!is_valid("anna@localhost"));
        assert!(!is_valid("@example.com"));
        assert!(!is_valid("an na@example.com"));
        assert!(!is_valid("a@b@example.com"));
    }

    #[test]
    fn normalizes_and_masks() {
        assert_eq!(normalize(" Anna@Example.COM "), "anna@example.com");
        assert_eq!(mask("anna@example.com"), "a***@example.com");
    }
}
