//! Phone numbers: parsed with libphonenumber metadata, stored and compared as E.164.
use std::collections::HashMap;

use phonenumber::country::Id as Region;

/// Which region reads a national-format number: the request's, else the hotel's,
/// else the configured default.
#[derive(Debug, Clone)]
pub struct RegionMap {
    pub default: Region,
    pub by_hotel: HashMap<String, Region>,
}

impl Default for RegionMap {
    fn default() -> Self {
        Self {
            default: Region::FR,
            by_hotel: HashMap::new(),
        }
    }
}

impl RegionMap {
    pub fn for_hotel(&self, hotel_id: &str) -> Region {
        self.by_hotel.get(hotel_id).copied().unwrap_or(self.default)
    }

    /// Every region a number could have been read in for these hotels (all configured
    /// hotels when the list is empty), default region first, without repeats.
    pub fn for_hotels(&self, hotel_ids: &[String]) -> Vec<Region> {
        let mut regions = vec![self.default];
        let mut push = |r: Region| {
            if !regions.contains(&r) {
                regions.push(r);
            }
        };
        if hotel_ids.is_empty() {
            let mut all: Vec<Region> = self.by_hotel.values().copied().collect();
            all.sort_by_key(|r| r.as_ref().to_string());
            all.into_iter().for_each(&mut push);
        } else {
            hotel_ids.iter().for_each(|h| push(self.for_hotel(h)));
        }
        regions
    }
}

/// Reads an ISO 3166 region code such as `FR` or `gb`.
pub fn parse_region(code: &str) -> Option<Region> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// What a phone number is, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedPhone {
    /// E.164 when it parses, else the input trimmed.
    pub stored: String,
    /// Parses and is a valid number of its region.
    pub valid: bool,
    /// Parsed at all.
    pub parsed: bool,
    /// A fixed line that cannot receive SMS or WhatsApp.
    pub fixed_line: bool,
}

/// Normalises a phone given in any human format. `00` is read as the international
/// prefix everywhere (PMS exports such as Mews write `0033...`).
/// Every form a phone may be stored in: as given (trimmed) and its E.164 form when it
/// parses; erasure matches both, since an unparsable phone is stored as given.
pub fn stored_forms(input: &str, region: Region) -> Vec<String> {
    let mut forms = vec![input.trim().to_string()];
    let n = normalize(input, region);
    if !forms.contains(&n.stored) {
        forms.push(n.stored);
    }
    forms
}

pub fn normalize(input: &str, region: Region) -> NormalizedPhone {
    let trimmed = input.trim();
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}'))
        .collect();
    let candidate = match compact.strip_prefix("00") {
        Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) => {
            format!("+{rest}")
        }
        _ => compact,
    };
    // An international number carries its country: no region hint, because with one
    // the phonenumber crate drops an Italian number's leading 0 after +39 and stores
    // +39 06 6982 1234 as the invalid +39669821234.
    let hint = match candidate.starts_with('+') {
        true => None,
        false => Some(region),
    };
    match phonenumber::parse(hint, &candidate) {
        Ok(number) => {
            // Validity is libphonenumber's own `is_valid()`: `number_type()` reads the
            // national number without its leading zeros, so it calls valid Italian
            // landlines "unknown". The type is only looked up for valid numbers.
            let valid = number.is_valid();
            let fixed_line = valid
                && number.number_type(&phonenumber::metadata::DATABASE)
                    == phonenumber::Type::FixedLine;
            NormalizedPhone {
                stored: number.format().mode(phonenumber::Mode::E164).to_string(),
                valid,
                parsed: true,
                fixed_line,
            }
        }
        Err(_) => NormalizedPhone {
            stored: trimmed.to_string(),
            valid: false,
            parsed: false,
            fixed_line: false,
        },
    }
}

/// The stored forms a searched phone may match: its E.164 reading in each region,
/// plus the text as given (unparseable numbers are stored as given).
pub fn search_forms(input: &str, regions: &[Region]) -> Vec<String> {
    let mut forms: Vec<String> = Vec::new();
    for region in regions {
        let n = normalize(input, *region);
        if !forms.contains(&n.stored) {
            forms.push(n.stored);
        }
    }
    let raw = input.trim().to_string();
    if !forms.contains(&raw) {
        forms.push(raw);
    }
    forms
}

/// `+33******78`: enough to tell numbers apart in a log, never the whole number.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
}

/// Loads libphonenumber's metadata now rather than on the first request.
pub fn warm_up() {
    let _ = normalize("+33612345678", Region::FR);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_with_a_leading_zero_are_valid() {
        // Italian landlines keep their 0 after the country code.
        for (input, stored) in [
            ("+39 06 6982 1234", "+390669821234"),
            ("0039 02 1234 5678", "+390212345678"),
        ] {
            let n = normalize(input, Region::FR);
            assert!(n.valid, "{input}");
            assert_eq!(n.stored, stored);
        }
    }

    #[test]
    fn national_and_international_agree() {
        let forms = [
            "06 12 34 56 78",
            "+33 6 12 34 56 78",
            "0033612345678",
            "00 33 6 12 34 56 78",
            "+33 (0)6 12-34-56-78",
            "06.12.34.56.78",
        ];
        for f in forms {
            let n = normalize(f, Region::FR);
            assert_eq!(n.stored, "+33612345678", "{f}");
            assert!(n.valid, "{f}");
            assert!(!n.fixed_line, "{f}");
        }
    }

    #[test]
    fn region_decides_national_numbers() {
        assert_eq!(
            normalize("020 7946 0958", Region::GB).stored,
            "+442079460958"
        );
        assert!(normalize("020 7946 0958", Region::GB).fixed_line);
        assert_eq!(normalize("612 34 56 78", Region::ES).stored, "+34612345678");
    }

    #[test]
    fn unparseable_is_kept_as_given() {
        let n = normalize("  not a phone ", Region::FR);
        assert_eq!(n.stored, "not a phone");
        assert!(!n.valid && !n.parsed);
    }

    #[test]
    fn too_short_is_invalid() {
        assert!(!normalize("+33 6 12", Region::FR).valid);
    }

    #[test]
    fn masks_keep_ends_only() {
        assert_eq!(mask("+33612345678"), "+33*******78");
        assert_eq!(mask("123"), "***");
    }

    #[test]
    fn search_forms_cover_each_region() {
        let forms = search_forms("0612345678", &[Region::FR, Region::ES]);
        assert!(forms.contains(&"+33612345678".to_string()));
        assert!(forms.contains(&"0612345678".to_string()));
    }

    proptest! {
        #[test]
        fn normalize_never_panics_and_is_idempotent(s in "\\PC{0,40}") {
            let once = normalize(&s, Region::FR);
            if once.parsed {
                let twice = normalize(&once.stored, Region::FR);
                prop_assert_eq!(twice.stored, once.stored);
            }
        }

        #[test]
        fn validity_is_libphonenumbers_own_even_with_leading_zeros(
            digits in "0[0-9]{5,9}",
        ) {
            let input = format!("+39{digits}");
            let ours = normalize(&input, Region::FR);
            let theirs = phonenumber::parse(None, &input).map(|n| n.is_valid());
            prop_assert_eq!(ours.valid, theirs.unwrap_or(false), "{}", input);
        }

        #[test]
        fn mask_never_shows_the_middle(digits in "[0-9]{8,13}") {
            let phone = format!("+{digits}");
            let masked = mask(&phone);
            prop_assert_eq!(masked.chars().count(), phone.chars().count());
            prop_assert!(!masked.contains(&digits[2..digits.len()-2]));
        }
    }
}
