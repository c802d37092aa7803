//! Reading an enum's value from its name, one way everywhere (the CLI, console forms,
//! the configuration): case-insensitive, with or without the proto prefix, so
//! `delivered`, `DELIVERED` and `MESSAGE_STATUS_DELIVERED` all name one status.
use super::FieldError;

/// The value of `all` whose `name` is `text` (the proto `prefix` optional).
pub fn from_name<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    prefix: &str,
    text: &str,
) -> Option<T> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix(prefix).unwrap_or(&upper);
    all.iter().copied().find(|v| name(*v) == bare)
}

/// Every value of `texts`, each read with `from_name`; the first that names nothing is
/// an error naming `field` and listing the names it takes.
pub fn from_names<T: Copy>(
    field: &str,
    texts: &[String],
    all: &[T],
    name: impl Fn(T) -> &'static str + Copy,
    from_name: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, FieldError> {
    texts
        .iter()
        .map(|t| {
            from_name(t).ok_or_else(|| {
                let known: Vec<String> = all.iter().map(|v| name(*v).to_lowercase()).collect();
                FieldError::new(field, format!("{t:?} is not one of {}", known.join(", ")))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::message::MessageStatus;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spelling_of_a_name() {
        for text in [
            "delivered",
            "DELIVERED",
            " Delivered ",
            "MESSAGE_STATUS_DELIVERED",
            "message_status_delivered",
        ] {
            assert_eq!(
                MessageStatus::from_name(text),
                Some(MessageStatus::Delivered),
                "{text}"
            );
        }
        assert_eq!(MessageStatus::from_name("deliver"), None);
        let e = from_names(
            "statuses",
            &["sent".into(), "lost".into()],
            &MessageStatus::ALL,
            MessageStatus::name,
            MessageStatus::from_name,
        )
        .unwrap_err();
        assert_eq!(e.field, "statuses");
        assert!(e.reason.contains("\"lost\" is not one of pending"), "{e}");
    }

    proptest! {
        #[test]
        fn a_name_reads_back(i in 0usize..9, lower in any::<bool>(), prefixed in any::<bool>()) {
            let s = MessageStatus::ALL[i];
            let mut text = s.name().to_string();
            if prefixed { text = format!("MESSAGE_STATUS_{text}"); }
            if lower { text = text.to_lowercase(); }
            prop_assert_eq!(MessageStatus::from_name(&text), Some(s));
        }
    }
}
