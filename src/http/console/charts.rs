//! The console's charts, drawn on the server as SVG (no script, no library in the page):
//! refusals per day by reason and by sender group, opt-outs per day by source, lifts per
//! month by approver, and the time from an opt-out signal to its block.
//!
//! Their data is read from the store (send records, history, lifts, feedback) at most once a
//! minute, on a blocking thread.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::pages::esc;
use crate::address::Address;
use crate::model::feedback::{ActionKind, ReviewState};
use crate::model::{AttemptOutcome, EventKind, Source, Timestamp};
use crate::policy::{Sender, SenderGroups};
use crate::store::{Store, StoreError};

/// Days the daily charts cover.
const DAYS: i64 = 30;
const DAY: i64 = 86_400_000_000;

/// A chart's data: category labels (x) and named series of counts, one per label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// The x labels.
    pub labels: Vec<String>,
    /// Series name -> one count per label.
    pub series: BTreeMap<String, Vec<u64>>,
}

impl Chart {
    fn new(title: &str, labels: Vec<String>) -> Chart {
        Chart {
            title: title.to_string(),
            labels,
            series: BTreeMap::new(),
        }
    }

    fn add(&mut self, series: &str, label: usize, n: u64) {
        let len = self.labels.len();
        if label < len {
            self.series
                .entry(series.to_string())
                .or_insert_with(|| vec![0; len])[label] += n;
        }
    }

    /// The sum of every series.
    pub fn total(&self) -> u64 {
        self.series.values().flatten().sum()
    }
}

/// Every chart of the page.
#[derive(Debug, Clone, Default)]
pub struct Charts {
    /// Refusals per day by reason.
    pub refusals_by_reason: Chart,
    /// Refusals per day by sender group.
    pub refusals_by_group: Chart,
    /// New opt-outs per day by source.
    pub optouts_by_source: Chart,
    /// Lifts approved per month by approver.
    pub lifts_by_approver: Chart,
    /// Opt-outs by feedback, by time from the signal to the block.
    pub signal_to_block: Chart,
}

/// The charts' data, kept for a minute.
#[derive(Default)]
pub struct Cache(Mutex<Option<(Instant, Charts)>>);

impl Cache {
    /// The charts, read again when older than a minute.
    pub async fn get(&self, store: &Store, groups: &SenderGroups) -> Result<Charts, StoreError> {
        if let Ok(guard) = self.0.lock() {
            if let Some((at, charts)) = &*guard {
                if at.elapsed() < Duration::from_secs(60) {
                    return Ok(charts.clone());
                }
            }
        }
        let (store, groups) = (store.clone(), groups.clone());
        let charts = tokio::task::spawn_blocking(move || read(&store, &groups, Timestamp::now()))
            .await
            .map_err(|e| StoreError::Io(e.to_string()))??;
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((Instant::now(), charts.clone()));
        }
        Ok(charts)
    }
}

fn day_labels(now: Timestamp) -> Vec<String> {
    (0..DAYS)
        .map(|i| day(Timestamp(now.0 - (DAYS - 1 - i) * DAY)))
        .collect()
}

/// `2026-11-30`.
fn day(t: Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

/// Index of `t`'s day among the last [`DAYS`] days.
fn day_index(now: Timestamp, t: Timestamp) -> Option<usize> {
    let today = now.0.div_euclid(DAY);
    let back = today - t.0.div_euclid(DAY);
    (0..DAYS)
        .contains(&back)
        .then(|| (DAYS - 1 - back) as usize)
}

/// Reads every chart's data as of `now`.
pub fn read(store: &Store, groups: &SenderGroups, now: Timestamp) -> Result<Charts, StoreError> {
    let labels = day_labels(now);
    let since = Timestamp((now.0.div_euclid(DAY) - DAYS + 1) * DAY);
    let mut by_reason = Chart::new("Refusals per day, by reason", labels.clone());
    let mut by_group = Chart::new("Refusals per day, by sender group", labels.clone());
    store.for_each_attempt(since, |a| {
        let reason = match &a.outcome {
            AttemptOutcome::Refused { reason, .. } => reason.as_str(),
            AttemptOutcome::Locked { .. } => "locked",
            _ => return,
        };
        let Some(i) = day_index(now, a.at) else {
            return;
        };
        by_reason.add(reason, i, 1);
        let from = Address::parse(&a.from).ok();
        let group = groups
            .group_of(&Sender {
                address: from.as_ref(),
                user: a.user.as_deref(),
            })
            .unwrap_or("(no group)");
        by_group.add(group, i, 1);
    })?;
    let mut optouts = Chart::new("New opt-outs per day, by source", labels);
    read_events(store, since, |e| {
        if let EventKind::Suppressed { source, .. } = &e.kind {
            if let Some(i) = day_index(now, e.at) {
                optouts.add(source_group(*source), i, 1);
            }
        }
    })?;
    Ok(Charts {
        refusals_by_reason: by_reason,
        refusals_by_group: by_group,
        optouts_by_source: optouts,
        lifts_by_approver: lifts(store, now)?,
        signal_to_block: signal_to_block(store, since, now)?,
    })
}

/// The chart's six sources: reply, link, bounce, complaint, import, manual (the rest).
fn source_group(source: Source) -> &'static str {
    match source {
        Source::Reply => "reply",
        Source::Link => "link",
        Source::Bounce => "bounce",
        Source::Fbl => "complaint",
        Source::Import => "import",
        _ => "manual",
    }
}

/// Calls `f` for every event from `since` on (the scan starts at the window's first event,
/// see [`Store::first_event_since`]).
fn read_events(
    store: &Store,
    since: Timestamp,
    mut f: impl FnMut(&crate::model::Event),
) -> Result<(), StoreError> {
    let last = store.last_event()?;
    let mut next = store.first_event_since(since)?;
    while next <= last {
        let events = store.events(next, 10_000)?;
        let Some(end) = events.last().map(|e| e.id) else {
            break;
        };
        events.iter().filter(|e| e.at >= since).for_each(&mut f);
        next = end + 1;
    }
    Ok(())
}

fn lifts(store: &Store, now: Timestamp) -> Result<Chart, StoreError> {
    let months: Vec<String> = (0..12).rev().map(|back| month_label(now, back)).collect();
    let mut chart = Chart::new("Lifts approved per month, by approver", months.clone());
    for l in store.lifts()? {
        if let Some(d) = l.decision.filter(|d| d.approved) {
            let label: String = d.at.to_string().chars().take(7).collect();
            if let Some(i) = months.iter().position(|m| *m == label) {
                chart.add(&d.by.user, i, 1);
            }
        }
    }
    Ok(chart)
}

/// `2026-11`, `back` months before `now`'s month.
fn month_label(now: Timestamp, back: i64) -> String {
    let text = now.to_string();
    let year: i64 = text.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(1970);
    let month: i64 = text.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let n = year * 12 + (month - 1) - back;
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

/// Feedback opt-outs of the window by delay from the message's arrival to the block: the
/// classifier's own (at once) and the reviewed ones (when a person confirmed); pending
/// reviews are counted as waiting.
fn signal_to_block(store: &Store, since: Timestamp, now: Timestamp) -> Result<Chart, StoreError> {
    const BUCKETS: [(&str, i64); 5] = [
        ("under a minute", 60),
        ("under an hour", 3_600),
        ("under a day", 86_400),
        ("under a week", 7 * 86_400),
        ("longer", i64::MAX),
    ];
    let mut labels: Vec<String> = BUCKETS.iter().map(|(l, _)| l.to_string()).collect();
    labels.push("still waiting".into());
    let mut chart = Chart::new(
        "Time from opt-out signal to block (feedback, 30 days)",
        labels,
    );
    let bucket = |secs: i64| BUCKETS.iter().position(|(_, max)| secs < *max).unwrap_or(4);
    let mut after = 0;
    loop {
        let records = store.feedback_records(after, 5_000, false)?;
        let Some(last) = records.last().map(|r| r.id) else {
            break;
        };
        for r in records.iter().filter(|r| r.at >= since) {
            for (i, a) in r.actions.iter().enumerate() {
                let review = r.reviews.iter().find(|(k, _)| *k as usize == i);
                match (a.action, review.map(|(_, s)| s)) {
                    (ActionKind::Suppress, _) => chart.add("automatic", bucket(0), 1),
                    (ActionKind::Review, Some(ReviewState::Confirmed { at, .. })) => {
                        chart.add("reviewed", bucket((at.0 - r.at.0) / 1_000_000), 1)
                    }
                    (ActionKind::Review, Some(ReviewState::Pending)) => chart.add("reviewed", 5, 1),
                    _ => {}
                }
            }
        }
        after = last;
    }
    let _ = now;
    Ok(chart)
}

/// Colours of the series, in order (distinguishable, print well).
const COLOURS: [&str; 10] = [
    "#1f5fbf", "#d9822b", "#2f9e44", "#c92a2a", "#7048e8", "#0c8599", "#e8590c", "#5c940d",
    "#862e9c", "#495057",
];

/// One stacked bar chart as SVG.
pub fn svg(chart: &Chart, id: &str) -> String {
    let (w, h, left, top, bottom) = (560.0, 260.0, 44.0, 28.0, 64.0);
    let plot_h = h - top - bottom;
    let n = chart.labels.len().max(1) as f64;
    let slot = (w - left - 10.0) / n;
    let totals: Vec<u64> = (0..chart.labels.len())
        .map(|i| chart.series.values().map(|v| v[i]).sum())
        .collect();
    let max = nice(totals.iter().copied().max().unwrap_or(0));
    let mut out = format!(
        "<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"{t}\">\
<text class=\"title\" x=\"{left}\" y=\"16\">{t}</text>",
        t = esc(&chart.title)
    );
    for k in 0..=4 {
        let v = max as f64 * f64::from(k) / 4.0;
        let y = top + plot_h - plot_h * f64::from(k) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e7ee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - 10.0,
            left - 4.0,
            y + 4.0,
            v.round()
        );
    }
    for (i, label) in chart.labels.iter().enumerate() {
        let x = left + slot * i as f64;
        let mut y = top + plot_h;
        for (s, (name, values)) in chart.series.iter().enumerate() {
            let v = values[i];
            if v == 0 {
                continue;
            }
            let bar = plot_h * v as f64 / max as f64;
            y -= bar;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{}\"><title>{} {}: {v}</title></rect>",
                x + slot * 0.12,
                slot * 0.76,
                COLOURS[s % COLOURS.len()],
                esc(label),
                esc(name)
            );
        }
        let every = chart.labels.len().div_ceil(8).max(1);
        if i % every == 0 || chart.labels.len() <= 12 {
            let short = if label.len() == 10 {
                &label[5..]
            } else {
                label.as_str()
            };
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                top + plot_h + 14.0,
                esc(short)
            );
        }
    }
    legend(&mut out, chart, left, h - bottom + 34.0);
    if chart.total() == 0 {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">nothing in this period</text>",
            w / 2.0,
            top + plot_h / 2.0
        );
    }
    out.push_str("</svg>");
    out
}

fn legend(out: &mut String, chart: &Chart, left: f64, y: f64) {
    let (mut x, mut y) = (left, y);
    for (s, name) in chart.series.keys().enumerate() {
        let width = 24.0 + 6.5 * name.chars().count() as f64;
        if x + width > 550.0 {
            x = left;
            y += 16.0;
        }
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            y - 9.0,
            COLOURS[s % COLOURS.len()],
            x + 14.0,
            esc(name)
        );
        x += width;
    }
}

/// A round maximum for the y axis (at least 4, so the four grid steps are whole numbers).
fn nice(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step * m * 4 >= max.max(4) {
                return step * m * 4;
            }
        }
        step *= 10;
    }
}

/// The charts page's body.
pub fn page(c: &Charts) -> String {
    format!(
        "<div class=\"charts\"><div class=\"card\">{}</div><div class=\"card\">{}</div><div class=\"card\">{}</div><div class=\"card\">{}</div><div class=\"card\">{}</div></div>",
        svg(&c.refusals_by_reason, "refusals-by-reason"),
        svg(&c.refusals_by_group, "refusals-by-group"),
        svg(&c.optouts_by_source, "optouts-by-source"),
        svg(&c.lifts_by_approver, "lifts-by-approver"),
        svg(&c.signal_to_block, "signal-to-block"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_per_day_and_the_axis_is_round() {
        let now = Timestamp(20_000 * DAY + 5);
        assert_eq!(day_index(now, now), Some(29));
        assert_eq!(day_index(now, Timestamp(now.0 - 29 * DAY)), Some(0));
        assert_eq!(day_index(now, Timestamp(now.0 - 30 * DAY)), None);
        let mut c = Chart::new("t", day_labels(now));
        c.add("unsubscribe", 29, 3);
        c.add("complaint", 29, 2);
        assert_eq!(c.total(), 5);
        let svg = svg(&c, "x");
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 2,
            "two bars and two legend keys"
        );
        assert_eq!(nice(5), 8);
        assert_eq!(nice(0), 4);
        assert_eq!(nice(37), 40);
        assert_eq!(
            month_label(Timestamp::parse_rfc3339("2026-01-15T00:00:00Z").unwrap(), 1),
            "2025-12"
        );
    }
}
