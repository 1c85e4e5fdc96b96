//! Phone numbers on the list (for the dialers that share it): normalised once, where they
//! enter, to E.164 (`+33612345678`) with the `phonenumber` crate. A number written without
//! its country code is read in `[phones] default_country`.

use std::sync::OnceLock;

static DEFAULT_COUNTRY: OnceLock<phonenumber::country::Id> = OnceLock::new();

/// Sets the country national numbers are read in (from the config, once per process).
pub fn set_default_country(code: &str) -> Result<(), String> {
    let id = country(code)?;
    let _ = DEFAULT_COUNTRY.set(id);
    Ok(())
}

/// The country national numbers are read in, if one is set.
pub fn default_country() -> Option<String> {
    DEFAULT_COUNTRY.get().map(|id| id.as_ref().to_string())
}

/// A country code (`FR`, `de`) as the crate names it.
pub fn country(code: &str) -> Result<phonenumber::country::Id, String> {
    code.trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .map_err(|_| format!("'{code}' is not a two-letter country code such as FR or US"))
}

/// Whether the text is written like a phone number rather than an address or a domain: a
/// `+` or a digit first, then only digits, spaces, dots, dashes and brackets.
pub fn looks_like_phone(input: &str) -> bool {
    let t = input.trim();
    let t = t.strip_prefix("tel:").unwrap_or(t);
    t.starts_with(|c: char| c == '+' || c.is_ascii_digit() || c == '(')
        && t.chars().filter(char::is_ascii_digit).count() >= 4
        && t.chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
}

/// The number in E.164, if it is a valid one (read in the default country when it has no
/// `+CC`).
pub fn normalise(input: &str) -> Result<String, String> {
    let t = input.trim();
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let default = DEFAULT_COUNTRY.get().copied();
    if !t.starts_with('+') && default.is_none() {
        return Err(format!(
            "'{t}' has no country code: write it as +CC..., or set [phones] default_country"
        ));
    }
    let number =
        phonenumber::parse(default, t).map_err(|e| format!("'{t}' is not a phone number: {e}"))?;
    if !phonenumber::is_valid(&number) {
        return Err(format!("'{t}' is not a valid phone number"));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_one_way() {
        assert_eq!(normalise("+33 6 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(normalise("tel:+1 (415) 555-2671").unwrap(), "+14155552671");
        assert!(normalise("+33 1").is_err());
        assert!(looks_like_phone("+33 6 12 34 56 78"));
        assert!(looks_like_phone("06.12.34.56.78"));
        assert!(!looks_like_phone("ann@example.com"));
        assert!(!looks_like_phone("@example.com"));
        assert!(!looks_like_phone("123abc"));
        assert!(country("fr").is_ok() && country("XX").is_err());
    }
}
