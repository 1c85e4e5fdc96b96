//! `dnc-relay import`, `export` and `scrub`: CSV files in and out. The files are read and
//! written here, on the operator's side; the relay only sees parsed rows and addresses.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{print_json, report, Cli, EXIT_OK, EXIT_USAGE};
use crate::admin::ops::lists::{CheckMany, ImportChunk, ImportCommit, RecordScrub};
use crate::admin::ops::suppress::Ping;
use crate::admin::proto::{Chunker, ScrubVerdict};
use crate::admin::{AdminClient, Body};
use crate::lists::{
    export_row, hashed_row, import_row, restore, Columns, ImportFormat, SafeCsv, EXPORT_HEADER,
    HASHED_HEADER,
};
use crate::model::{Reason, Source};

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file: our own export, an Amazon SES or SendGrid suppression export (detected by
    /// the header), or any list with an address column (then --reason is required).
    pub file: PathBuf,
    /// The reason for rows whose file gives none (required for plain lists).
    #[arg(long, value_parser = |s: &str| s.parse::<Reason>())]
    pub reason: Option<Reason>,
    /// The channel recorded for every row (default: import).
    #[arg(long, value_parser = |s: &str| s.parse::<Source>())]
    pub source: Option<Source>,
    /// Skip malformed rows (they are listed) instead of refusing the whole file.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV with a header row (importable with `dnc-relay import`).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Replace each target by the SHA-256 of its normalised form (and leave out evidence and
    /// actor), for subcontractors who must honour the list without receiving it.
    #[arg(long)]
    pub hashed: bool,
}

/// Arguments of `scrub`.
#[derive(Debug, Args)]
pub struct ScrubArgs {
    /// The lead list (CSV with a header row).
    pub file: PathBuf,
    /// The address column (default: found by name: email, Email, e-mail, EmailAddress, ...).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Write only the rows that may be mailed.
    #[arg(long)]
    pub drop: bool,
    /// The sender who will mail the list: rows another owner has locked are marked `locked`,
    /// and sender groups and unit-scoped entries apply as at RCPT.
    #[arg(long, value_name = "SENDER")]
    pub from: Option<String>,
    /// Check against the company's hashed feed alone (a subcontractor's relay, `[replica]
    /// feed`): each row's address (and number) is hashed with the feed's salt and compared;
    /// no address of the company's list is ever seen.
    #[arg(long)]
    pub hashed: bool,
}

/// Opens a CSV file and reads its header row, printing why not.
fn open_csv(path: &PathBuf) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord), u8> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        // Cells are trimmed where a value is read (addresses, reasons), not here: free text
        // such as evidence, and the columns of a lead list, pass through as they are.
        .trim(csv::Trim::None)
        .from_path(path)
        .map_err(|e| {
            tell!("dnc-relay: cannot read {}: {e}", path.display());
            EXIT_USAGE
        })?;
    let headers = reader.headers().cloned().map_err(|e| {
        tell!("dnc-relay: {}: no header row: {e}", path.display());
        EXIT_USAGE
    })?;
    Ok((reader, headers))
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Most skipped lines listed one by one (the rest are counted).
const MAX_SKIPPED_SHOWN: usize = 100;

/// Imports a file in one transaction; a malformed row refuses the whole file (exit 2) unless
/// `--skip-invalid`. Rows are read, checked and sent in bounded chunks as the file is read,
/// so memory stays small whatever its size; the relay stages them and applies them all at
/// once at the end, or none if the import stops half way (a bad row, an interruption).
pub fn import(cli: &Cli, args: &ImportArgs) -> u8 {
    let (reader, headers) = match open_csv(&args.file) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let cols = Columns::new(&headers);
    let format = ImportFormat::detect(&cols);
    if format == ImportFormat::Plain {
        if let Err(e) = cols.address(None) {
            tell!("dnc-relay: {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    }
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let progress = super::progress::Progress::bytes(file_size(&args.file), "importing");
    let sent = send_rows(&mut client, reader, &cols, format, args, &progress);
    let sent = match sent {
        Ok(sent) => sent,
        Err(code) => return code,
    };
    progress.committing();
    let committed = client.call(ImportCommit {
        file: file_name(&args.file),
        format,
        skipped: sent.skipped,
    });
    progress.finish();
    for (line, message) in &sent.skipped_lines {
        tell!("skipped line {line}: {message}");
    }
    if sent.skipped > sent.skipped_lines.len() as u64 {
        tell!(
            "skipped {} more lines",
            sent.skipped - sent.skipped_lines.len() as u64
        );
    }
    let imported = match committed {
        Ok(imported) => imported,
        Err(e) => return report(&e),
    };
    debug_assert_eq!(imported.rows, sent.total);
    if args.json {
        print_json(&Body::Imported(imported));
    } else {
        say!(
            "imported {} ({}): {} rows, {} new, {} already listed, {} skipped; event #{}",
            args.file.display(),
            format.as_str(),
            imported.rows,
            imported.added,
            imported.already,
            sent.skipped,
            imported.event_id
        );
    }
    EXIT_OK
}

/// What [`send_rows`] sent and skipped.
struct Sent {
    total: u64,
    skipped: u64,
    skipped_lines: Vec<(u64, String)>,
}

/// Reads, checks and sends the file's rows in chunks; a bad row ends it (exit 2) unless
/// `--skip-invalid`.
fn send_rows(
    client: &mut AdminClient,
    mut reader: csv::Reader<std::fs::File>,
    cols: &Columns,
    format: ImportFormat,
    args: &ImportArgs,
    progress: &super::progress::Progress,
) -> Result<Sent, u8> {
    // National numbers in the file are read in the relay's country.
    if let Ok(pong) = client.call(Ping) {
        if let Some(country) = pong.phone_country {
            let _ = crate::phone::set_default_country(&country);
        }
    }
    let mut chunker = Chunker::new();
    let mut sent = Sent {
        total: 0,
        skipped: 0,
        skipped_lines: Vec::new(),
    };
    let mut send = |rows| {
        client
            .call(ImportChunk { rows })
            .map(|_| ())
            .map_err(|e| report(&e))
    };
    for record in reader.records() {
        let (line, parsed) = match record {
            Ok(rec) => {
                let position = rec.position();
                let line = position.map(|p| p.line()).unwrap_or(0);
                progress.set(position.map(|p| p.byte()).unwrap_or(0));
                if rec.iter().all(str::is_empty) {
                    continue;
                }
                (
                    line,
                    import_row(format, cols, &rec, line, args.reason, args.source),
                )
            }
            Err(e) => (
                e.position().map(|p| p.line()).unwrap_or(0),
                Err(format!("malformed CSV: {e}")),
            ),
        };
        match parsed {
            Ok(row) => {
                sent.total += 1;
                if let Some(chunk) = chunker.push(row) {
                    send(chunk)?;
                }
            }
            Err(message) if args.skip_invalid => {
                sent.skipped += 1;
                if sent.skipped_lines.len() < MAX_SKIPPED_SHOWN {
                    sent.skipped_lines.push((line, message));
                }
            }
            Err(message) => {
                progress.finish();
                tell!(
                    "dnc-relay: {} line {line}: {message}; nothing was imported (use --skip-invalid to skip bad rows)",
                    args.file.display()
                );
                return Err(EXIT_USAGE);
            }
        }
    }
    if let Some(chunk) = chunker.finish() {
        send(chunk)?;
    }
    Ok(sent)
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Writes the whole list to stdout.
pub fn export(cli: &Cli, args: &ExportArgs) -> u8 {
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The count, for the progress bar only: the list may change while it is read.
    let total = client.call(Ping).ok().map(|pong| pong.entries);
    let progress = super::progress::Progress::rows(total, "exporting");
    let stdout = std::io::stdout();
    let mut sink = ExportSink::new(args.format, args.hashed, stdout.lock());
    if sink.header().is_err() {
        return EXIT_OK;
    }
    let exported = super::each_entry(&mut client, |e| {
        progress.add(1);
        // stdout closed (a pager quit): stop quietly.
        sink.entry(e).is_ok()
    });
    if let Err(code) = exported {
        return code;
    }
    let _ = sink.flush();
    EXIT_OK
}

/// Where export rows go, in the chosen format.
enum ExportSink<W: Write> {
    Csv(Box<SafeCsv<W>>, bool),
    Jsonl(std::io::BufWriter<W>, bool),
}

impl<W: Write> ExportSink<W> {
    fn new(format: ExportFormat, hashed: bool, out: W) -> Self {
        match format {
            ExportFormat::Csv => ExportSink::Csv(Box::new(SafeCsv::new(out)), hashed),
            ExportFormat::Jsonl => ExportSink::Jsonl(std::io::BufWriter::new(out), hashed),
        }
    }

    fn header(&mut self) -> Result<(), String> {
        match self {
            ExportSink::Csv(w, false) => w.write_record(EXPORT_HEADER).map_err(|e| e.to_string()),
            ExportSink::Csv(w, true) => w.write_record(HASHED_HEADER).map_err(|e| e.to_string()),
            ExportSink::Jsonl(..) => Ok(()),
        }
    }

    fn entry(&mut self, e: &crate::model::Entry) -> Result<(), String> {
        match self {
            ExportSink::Csv(w, false) => w.write_record(export_row(e)).map_err(|e| e.to_string()),
            ExportSink::Csv(w, true) => w.write_record(hashed_row(e)).map_err(|e| e.to_string()),
            ExportSink::Jsonl(w, hashed) => {
                let value = if *hashed {
                    let [target_sha256, kind, reason, added_at, scope] = hashed_row(e);
                    serde_json::json!({
                        "target_sha256": target_sha256, "kind": kind, "reason": reason,
                        "added_at": added_at, "scope": scope,
                    })
                } else {
                    serde_json::to_value(e).map_err(|e| e.to_string())?
                };
                writeln!(w, "{value}").map_err(|e| e.to_string())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ExportSink::Csv(w, _) => w.flush(),
            ExportSink::Jsonl(w, _) => w.flush(),
        }
    }
}

/// Annotates a lead list; changes nothing but records the scrub as an event.
pub fn scrub(cli: &Cli, args: &ScrubArgs) -> u8 {
    let (mut reader, headers) = match open_csv(&args.file) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let cols = Columns::new(&headers);
    let column = match cols.address(args.column.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            tell!("dnc-relay: {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    };
    // A phone column besides the address: each row's number is checked too.
    let columns = (column, cols.phone().filter(|p| *p != column));
    let mut client = match cli.connect() {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Before any row is written: a half-written list would look scrubbed.
    if let Err(code) = ready(&mut client, args.hashed) {
        return code;
    }
    let stdout = std::io::stdout();
    let mut out = SafeCsv::new(stdout.lock());
    let mut header = headers.clone();
    header.push_field("dnc_status");
    header.push_field("dnc_reason");
    if out.write_record(&header).is_err() {
        return EXIT_OK;
    }
    let mut counts = Counts::default();
    let mut batch: Vec<csv::StringRecord> = Vec::with_capacity(1000);
    let progress = super::progress::Progress::bytes(file_size(&args.file), "scrubbing");
    let mut records = reader.records();
    loop {
        batch.clear();
        for rec in records.by_ref().take(1000) {
            match rec {
                Ok(rec) => {
                    progress.set(rec.position().map(|p| p.byte()).unwrap_or(0));
                    batch.push(rec)
                }
                Err(e) => {
                    tell!("dnc-relay: {}: malformed CSV: {e}", args.file.display());
                    return EXIT_USAGE;
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        if let Err(code) = scrub_batch(&mut client, &batch, columns, args, &mut out, &mut counts) {
            return code;
        }
    }
    progress.finish();
    let _ = out.flush();
    drop(out);
    tell!(
        "scrubbed {}: {} rows, {} ok, {} suppressed, {}{}{} invalid{}",
        args.file.display(),
        counts.rows,
        counts.ok,
        counts.suppressed,
        if args.from.is_some() {
            format!("{} locked by another owner, ", counts.locked)
        } else {
            String::new()
        },
        if counts.no_consent > 0 {
            format!("{} without consent, ", counts.no_consent)
        } else {
            String::new()
        },
        counts.invalid,
        if args.drop {
            " (only ok rows written)"
        } else {
            ""
        }
    );
    match client.call(RecordScrub {
        file: file_name(&args.file),
        rows: counts.rows,
        blocked: counts.suppressed + counts.locked + counts.no_consent,
        invalid: counts.invalid,
    }) {
        Ok(_) => EXIT_OK,
        Err(e) => report(&e),
    }
}

/// A scrub needs a relay that is current (with its fleet, with its company's feed), and
/// `--hashed` one that follows a feed: the wire would defer what a stale copy passes.
fn ready(client: &mut AdminClient, hashed: bool) -> Result<(), u8> {
    let status = client
        .call(crate::admin::ops::feed::FeedStatus {})
        .map_err(|e| report(&e))?;
    if hashed && status.following.is_none() {
        tell!(
            "dnc-relay: this relay follows no hashed feed ([replica] feed): scrub without --hashed"
        );
        return Err(EXIT_USAGE);
    }
    match status.not_current {
        Some(why) => {
            tell!("dnc-relay: {why}; recipients are deferred on the wire, nothing scrubbed");
            Err(super::EXIT_UNREACHABLE)
        }
        None => Ok(()),
    }
}

#[derive(Default)]
struct Counts {
    rows: u64,
    ok: u64,
    suppressed: u64,
    locked: u64,
    no_consent: u64,
    invalid: u64,
}

fn scrub_batch(
    client: &mut AdminClient,
    batch: &[csv::StringRecord],
    (column, phone): (usize, Option<usize>),
    args: &ScrubArgs,
    out: &mut SafeCsv<std::io::StdoutLock<'_>>,
    counts: &mut Counts,
) -> Result<(), u8> {
    // No address is longer than 254 bytes (RFC 5321): a longer cell is invalid whatever
    // follows, and is sent cut short so that a batch always fits in one request.
    let addresses: Vec<String> = batch
        .iter()
        .map(|r| {
            let cell = restore(r.get(column).unwrap_or(""));
            let mut end = cell.len().min(320);
            while !cell.is_char_boundary(end) {
                end -= 1;
            }
            cell[..end].to_string()
        })
        .collect();
    let mut results = match client.call(CheckMany {
        addresses,
        from: args.from.clone(),
        hashed: args.hashed,
    }) {
        Ok(checked) => checked.results,
        Err(e) => return Err(report(&e)),
    };
    if let Some(phone) = phone {
        let numbers: Vec<String> = batch
            .iter()
            .map(|r| {
                restore(r.get(phone).unwrap_or(""))
                    .chars()
                    .take(64)
                    .collect()
            })
            .collect();
        let checked = match client.call(CheckMany {
            addresses: numbers.clone(),
            from: args.from.clone(),
            hashed: args.hashed,
        }) {
            Ok(checked) => checked.results,
            Err(e) => return Err(report(&e)),
        };
        // The number refuses the row when it is listed; an empty cell is no number.
        // A number that cannot be read does not pass either: the dialer gets `invalid`.
        for ((result, number), by_phone) in results.iter_mut().zip(&numbers).zip(checked) {
            if number.trim().is_empty() || result.status == ScrubVerdict::Suppressed {
                continue;
            }
            match by_phone.status {
                ScrubVerdict::Suppressed => {
                    *result = crate::admin::proto::ScrubStatus {
                        status: ScrubVerdict::Suppressed,
                        reason: by_phone.reason.map(|r| format!("{r} (phone)")),
                    }
                }
                ScrubVerdict::Invalid if result.status == ScrubVerdict::Ok => {
                    *result = crate::admin::proto::ScrubStatus {
                        status: ScrubVerdict::Invalid,
                        reason: by_phone.reason.map(|r| format!("phone: {r}")),
                    }
                }
                _ => {}
            }
        }
    }
    for (record, status) in batch.iter().zip(results) {
        counts.rows += 1;
        match status.status {
            ScrubVerdict::Ok => counts.ok += 1,
            ScrubVerdict::Suppressed => counts.suppressed += 1,
            ScrubVerdict::Locked => counts.locked += 1,
            ScrubVerdict::NoConsent => counts.no_consent += 1,
            ScrubVerdict::Invalid => counts.invalid += 1,
        }
        if args.drop && status.status != ScrubVerdict::Ok {
            continue;
        }
        // Cells read as they were meant (a cell we neutralised before is restored), then
        // neutralised once on the way out: scrubbing a scrubbed file changes nothing.
        let mut row: csv::StringRecord = record.iter().map(restore).collect();
        row.push_field(status.status.as_str());
        row.push_field(status.reason.as_deref().unwrap_or(""));
        if out.write_record(&row).is_err() {
            return Err(EXIT_OK);
        }
    }
    Ok(())
}
