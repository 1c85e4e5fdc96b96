//! CSV files that come and go: lead lists to scrub, suppression files to import (our own
//! export, Amazon SES, SendGrid), and our export. Pure parsing and formatting, no I/O beyond
//! the readers and writers handed in.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::address::Target;
use crate::admin::proto::ImportRow;
pub use crate::model::ImportFormat;
use crate::model::{Entry, Reason, Source, Units};

/// The column names, normalised, that hold an address in lead lists and exports.
const ADDRESS_COLUMNS: [&str; 6] = [
    "email",
    "emailaddress",
    "mail",
    "address",
    "emailid",
    "recipient",
];

/// The first characters that make a spreadsheet run a cell as a formula (OWASP, "CSV
/// injection").
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would take `cell`, once its leading quotes are removed, for a formula.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(|c| FORMULA_START.contains(&c))
}

/// A cell as we write it to any CSV: one that a spreadsheet would run as a formula gets a
/// leading single quote (OWASP's advice). So does one that is already a quote and such a
/// formula, so that [`restore`] gives back exactly what was written.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A cell as we read it from a CSV: undoes [`neutralise`] (and changes nothing else).
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// A CSV writer that neutralises every cell (see [`neutralise`]). Every CSV we write goes
/// through it.
pub struct SafeCsv<W: std::io::Write>(csv::Writer<W>);

impl<W: std::io::Write> SafeCsv<W> {
    /// A writer to `out`.
    pub fn new(out: W) -> SafeCsv<W> {
        SafeCsv(csv::Writer::from_writer(out))
    }

    /// Writes one record.
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        for cell in record {
            self.0.write_field(neutralise(cell.as_ref()).as_bytes())?;
        }
        self.0.write_record(None::<&[u8]>)
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Lowercases and drops spaces, dashes, underscores and dots: `E-mail Address` -> `emailaddress`.
fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Column positions by normalised name.
#[derive(Debug, Clone)]
pub struct Columns {
    by_name: HashMap<String, usize>,
    names: Vec<String>,
}

impl Columns {
    /// Reads a header row.
    pub fn new(headers: &csv::StringRecord) -> Columns {
        let mut by_name = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            by_name.entry(norm(h)).or_insert(i);
        }
        Columns {
            by_name,
            names: headers.iter().map(str::to_string).collect(),
        }
    }

    /// The position of a column, by any spelling of its name.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(&norm(name)).copied()
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The address column: `given` by name, else the first column named like an address
    /// (email, Email, e-mail, EmailAddress, ...).
    pub fn address(&self, given: Option<&str>) -> Result<usize, String> {
        if given.is_none() {
            // A list of phone numbers only (for the dialers): its phone column.
            // ...only when no column could hold addresses ("Work Email" must be named with
            // --column, not replaced by the phone column).
            let mail_like = self.names.iter().any(|n| norm(n).contains("mail"));
            if let (None, Some(phone), false) = (
                ADDRESS_COLUMNS.iter().find_map(|c| self.get(c)),
                self.phone(),
                mail_like,
            ) {
                return Ok(phone);
            }
        }
        match given {
            Some(name) => self.get(name).ok_or_else(|| {
                format!(
                    "no column '{name}' in the header ({})",
                    self.names.join(", ")
                )
            }),
            None => ADDRESS_COLUMNS
                .iter()
                .find_map(|c| self.get(c))
                .ok_or_else(|| {
                    format!(
                        "no address column found in the header ({}); name it with --column",
                        self.names.join(", ")
                    )
                }),
        }
    }
}

impl Columns {
    /// The phone-number column, if the header has one.
    pub fn phone(&self) -> Option<usize> {
        PHONE_COLUMNS.iter().find_map(|c| self.get(c))
    }
}

/// Header names of a phone-number column (normalised).
const PHONE_COLUMNS: [&str; 6] = [
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
];

/// Detection lives here, beside the readers of each format.
impl ImportFormat {
    /// Detects the format from the header.
    pub fn detect(cols: &Columns) -> ImportFormat {
        if cols.has("target") && cols.has("reason") {
            ImportFormat::DncRelay
        } else if cols.has("emailaddress") && cols.has("reason") {
            ImportFormat::Ses
        } else if cols.has("email") && cols.has("created") {
            if cols.has("ip") {
                ImportFormat::SendGridSpamReports
            } else if cols.has("status") {
                ImportFormat::SendGridBounces
            } else if cols.has("reason") {
                ImportFormat::SendGridInvalid
            } else {
                ImportFormat::SendGridUnsubscribes
            }
        } else {
            ImportFormat::Plain
        }
    }
}

/// The cells of one row, by column name, as written (our own export neutralised formulas;
/// see [`restore`]).
struct Cells<'a> {
    cols: &'a Columns,
    record: &'a csv::StringRecord,
}

impl<'a> Cells<'a> {
    /// A cell untrimmed (free text keeps its spaces).
    fn raw(&self, name: &str) -> &'a str {
        self.cols
            .get(name)
            .and_then(|i| self.record.get(i))
            .map(restore)
            .unwrap_or("")
    }

    /// A cell trimmed.
    fn field(&self, name: &str) -> &'a str {
        self.raw(name).trim()
    }

    /// An optional column parsed, `None` when empty.
    fn optional<T: std::str::FromStr<Err = String>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, String> {
        match self.field(name) {
            "" => Ok(None),
            v => v.parse().map(Some),
        }
    }
}

/// What a row says, before `--reason` and `--source` fill in what it lacks.
struct RowParts {
    target: String,
    reason: Option<Reason>,
    source: Option<Source>,
    evidence: String,
    units: Units,
}

/// Our own export.
fn ours(c: &Cells<'_>) -> Result<RowParts, String> {
    Ok(RowParts {
        target: c.field("target").to_string(),
        reason: Some(c.field("reason").parse::<Reason>()?),
        source: c.optional("source")?,
        // Evidence is free text: our export round-trips it exactly, spaces and all.
        evidence: c.raw("evidence").to_string(),
        units: Units::parse([c.field("scope")]),
    })
}

/// An Amazon SES suppression list.
fn ses(c: &Cells<'_>) -> Result<RowParts, String> {
    let reason = match c.field("reason").to_ascii_uppercase().as_str() {
        "BOUNCE" => Reason::HardBounce,
        "COMPLAINT" => Reason::Complaint,
        other => return Err(format!("SES reason '{other}' is not BOUNCE or COMPLAINT")),
    };
    let evidence = format!(
        "Amazon SES suppression list: {} {}",
        c.field("reason"),
        c.field("lastupdatetime")
    );
    Ok(RowParts {
        target: c.field("emailaddress").to_string(),
        reason: Some(reason),
        source: None,
        evidence: evidence.trim().to_string(),
        units: Units::all(),
    })
}

/// A SendGrid export; its kind gives the reason.
fn sendgrid(format: ImportFormat, c: &Cells<'_>) -> RowParts {
    let reason = match format {
        ImportFormat::SendGridBounces => Reason::HardBounce,
        ImportFormat::SendGridSpamReports => Reason::Complaint,
        ImportFormat::SendGridInvalid => Reason::Invalid,
        _ => Reason::Unsubscribe,
    };
    let mut evidence = format!(
        "SendGrid {}: created {}",
        format.as_str(),
        c.field("created")
    );
    for extra in ["reason", "status"] {
        if !c.field(extra).is_empty() {
            evidence.push_str(&format!(", {extra} {}", c.field(extra)));
        }
    }
    RowParts {
        target: c.field("email").to_string(),
        reason: Some(reason),
        source: None,
        evidence,
        units: Units::all(),
    }
}

/// A list with an address column, and per row, when the columns are there, a reason, a
/// source, evidence and a scope.
fn plain(c: &Cells<'_>) -> Result<RowParts, String> {
    let i = c.cols.address(None)?;
    Ok(RowParts {
        target: restore(c.record.get(i).unwrap_or("")).trim().to_string(),
        reason: c.optional("reason")?,
        source: c.optional("source")?,
        evidence: c.raw("evidence").to_string(),
        units: Units::parse([c.field("scope")]),
    })
}

/// Reads one import row. `reason` and `source` are `--reason` and `--source`: they fill in
/// what a row does not say (a plain list needs a reason from one or the other).
pub fn import_row(
    format: ImportFormat,
    cols: &Columns,
    record: &csv::StringRecord,
    line: u64,
    reason: Option<Reason>,
    source: Option<Source>,
) -> Result<ImportRow, String> {
    let cells = Cells { cols, record };
    let row = match format {
        ImportFormat::DncRelay => ours(&cells)?,
        ImportFormat::Ses => ses(&cells)?,
        ImportFormat::SendGridBounces
        | ImportFormat::SendGridSpamReports
        | ImportFormat::SendGridInvalid
        | ImportFormat::SendGridUnsubscribes => sendgrid(format, &cells),
        ImportFormat::Plain => plain(&cells)?,
    };
    if row.target.is_empty() {
        return Err("no address".into());
    }
    Target::parse(&row.target)
        .map_err(|e| format!("'{}' is not a valid target: {e}", row.target))?;
    let reason = row.reason.or(reason).ok_or_else(|| {
        "no reason: give a reason column or --reason for the rows without one".to_string()
    })?;
    Ok(ImportRow {
        line,
        target: row.target,
        reason,
        source: row.source.or(source).unwrap_or(Source::Import),
        evidence: row.evidence,
        units: row.units,
    })
}

/// The columns of our CSV export.
pub const EXPORT_HEADER: [&str; 7] = [
    "target", "reason", "source", "evidence", "added_at", "actor", "scope",
];

/// The columns of the hashed export.
pub const HASHED_HEADER: [&str; 5] = ["target_sha256", "kind", "reason", "added_at", "scope"];

/// One export row.
pub fn export_row(e: &Entry) -> [String; 7] {
    [
        e.target.clone(),
        e.reason.to_string(),
        e.source.to_string(),
        e.evidence.clone(),
        e.added_at.to_string(),
        e.actor.user.clone(),
        e.scope(),
    ]
}

/// One hashed export row: the target replaced by the SHA-256 of its match key, no evidence
/// and no actor (they can hold personal data).
pub fn hashed_row(e: &Entry) -> [String; 5] {
    let (key, kind) = match Target::parse(&e.target) {
        Ok(t @ Target::Domain(_)) => (t.match_key(), "domain"),
        Ok(t) => (t.match_key(), "address"),
        Err(_) => (e.target.clone(), "address"),
    };
    [
        hash_key(&key),
        kind.to_string(),
        e.reason.to_string(),
        e.added_at.to_string(),
        e.scope(),
    ]
}

/// SHA-256 (lowercase hex) of a match key: what a subcontractor computes from an address
/// normalised the relay's way (see [`crate::address::Address::push_match_key`]), or from
/// `@domain` for each of its domains.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_restored_exactly() {
        let cells = [
            "=cmd|' /C calc'!A0",
            "+33 1 23 45 67 89",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'=already quoted",
            "''@two quotes",
            "plain evidence",
            "'just a quote",
            "'",
            "",
            "@example.com",
        ];
        for cell in cells {
            let written = neutralise(cell);
            assert!(
                !formula_like(&written) || written.starts_with('\''),
                "{written:?}"
            );
            if cell
                .trim_start_matches('\'')
                .starts_with(|c| FORMULA_START.contains(&c))
            {
                assert!(written.starts_with('\''), "{cell:?} -> {written:?}");
            }
            assert_eq!(restore(&written), cell, "round trip of {cell:?}");
            assert_eq!(
                neutralise(restore(&written)),
                written,
                "idempotent for {cell:?}"
            );
        }
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("plain"), "plain");
    }

    fn cols(header: &str) -> (Columns, csv::StringRecord) {
        let rec = csv::StringRecord::from(header.split(',').collect::<Vec<_>>());
        (Columns::new(&rec), rec)
    }

    #[test]
    fn formats_are_detected_from_the_header() {
        let cases = [
            (
                "target,reason,source,evidence,added_at,actor,scope",
                ImportFormat::DncRelay,
            ),
            ("EmailAddress,Reason,LastUpdateTime", ImportFormat::Ses),
            ("email,created,reason,status", ImportFormat::SendGridBounces),
            ("email,created,ip", ImportFormat::SendGridSpamReports),
            ("email,created,reason", ImportFormat::SendGridInvalid),
            ("email,created", ImportFormat::SendGridUnsubscribes),
            ("First Name,E-mail,Company", ImportFormat::Plain),
        ];
        for (header, want) in cases {
            assert_eq!(ImportFormat::detect(&cols(header).0), want, "{header}");
        }
    }

    #[test]
    fn the_address_column_is_found_by_any_usual_name() {
        for header in [
            "email,x",
            "Email,x",
            "x,e-mail",
            "x,EmailAddress",
            "Name,Email Address",
        ] {
            assert!(cols(header).0.address(None).is_ok(), "{header}");
        }
        assert!(cols("name,company").0.address(None).is_err());
        assert_eq!(cols("name,work").0.address(Some("Work")).unwrap(), 1);
    }

    #[test]
    fn ses_and_sendgrid_rows_map_to_reasons() {
        let (c, _) = cols("EmailAddress,Reason,LastUpdateTime");
        let rec = csv::StringRecord::from(vec!["A@x.com", "COMPLAINT", "2024-01-01"]);
        let row = import_row(ImportFormat::Ses, &c, &rec, 2, None, None).unwrap();
        assert_eq!(
            (row.reason, row.source),
            (Reason::Complaint, Source::Import)
        );
        let (c, _) = cols("email,created,reason,status");
        let rec =
            csv::StringRecord::from(vec!["b@x.com", "1700000000", "550 no such user", "5.1.1"]);
        let row = import_row(ImportFormat::SendGridBounces, &c, &rec, 2, None, None).unwrap();
        assert_eq!(row.reason, Reason::HardBounce);
        assert!(row.evidence.contains("5.1.1"));
    }

    #[test]
    fn a_plain_file_needs_a_reason() {
        let (c, _) = cols("email");
        let rec = csv::StringRecord::from(vec!["c@x.com"]);
        assert!(import_row(ImportFormat::Plain, &c, &rec, 2, None, None).is_err());
        let row = import_row(
            ImportFormat::Plain,
            &c,
            &rec,
            2,
            Some(Reason::Unsubscribe),
            None,
        )
        .unwrap();
        assert_eq!(row.reason, Reason::Unsubscribe);
    }

    #[test]
    fn hashed_keys_agree_for_every_spelling_of_an_address() {
        let key = |s: &str| hash_key(&Target::parse(s).unwrap().match_key());
        assert_eq!(key("J.Doe@GoogleMail.com"), key("jdoe@gmail.com"));
        assert_eq!(key(" <Alice@Example.COM> "), key("alice@example.com"));
        assert_ne!(key("alice@example.com"), key("bob@example.com"));
        assert_eq!(key("alice@example.com").len(), 64);
    }
}
