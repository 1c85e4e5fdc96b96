//! Progress of long work (import, export, scrub) on a terminal: rows or bytes done, the rate,
//! and the time left, drawn on stderr. Nothing is drawn when stderr is not a terminal, and
//! nothing ever goes to stdout, which may be the data itself.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when no one is watching.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(total: Option<u64>, template: &str, what: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    /// Work measured in bytes of a file of `total` bytes.
    pub fn bytes(total: u64, what: &str) -> Progress {
        Progress::new(
            Some(total),
            "{msg} [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            what,
        )
    }

    /// Work measured in rows, `total` of them if known.
    pub fn rows(total: Option<u64>, what: &str) -> Progress {
        let template = if total.is_some() {
            "{msg} [{wide_bar}] {human_pos}/{human_len} rows ({per_sec}, {eta} left)"
        } else {
            "{spinner} {msg} {human_pos} rows ({per_sec})"
        };
        Progress::new(total, template, what)
    }

    /// Sets how much is done.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(done);
        }
    }

    /// Adds to what is done.
    pub fn add(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(done);
        }
    }

    /// The reading is over; the relay is applying it.
    pub fn committing(&self) {
        if let Some(bar) = &self.0 {
            bar.set_style(ProgressStyle::default_spinner());
            bar.set_message("committing (one transaction)");
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
