//! Accuracy you can see: the classifier scored against a labelled corpus (`feedback score`).
//! Ops who extend the rules file measure the change on their own labelled mail the same way.
//!
//! The labels are JSON lines, one per message file (paths relative to the labels file):
//! `{"file": "replies/x.eml", "kind": "reply", "class": "unsubscribe", "actions": [{"target":
//! "pat@example.com", "action": "suppress", "reason": "unsubscribe"}]}`. Only suppress and
//! review actions are listed; a message that changes nothing has `"actions": []`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ActionKind, Class, Classifier, Kind};
use crate::address::Target;
use crate::model::Reason;

/// One labelled message.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// The message file, relative to the labels file.
    pub file: String,
    /// What it is.
    pub kind: Kind,
    /// For replies: what it asks.
    pub class: Option<Class>,
    /// The suppress and review actions it should lead to.
    pub actions: Vec<LabelledAction>,
}

/// One expected action.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledAction {
    /// Address or `@domain`.
    pub target: String,
    /// `suppress` or `review`.
    pub action: ActionKind,
    /// The reason.
    pub reason: Option<Reason>,
}

/// Precision and recall of one kind of decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// What is scored (`suppress hard-bounce`, `kind dsn`, `class unsubscribe`, ...).
    pub what: String,
    /// How many the labels have.
    pub labelled: usize,
    /// How many the classifier gave.
    pub predicted: usize,
    /// How many of those agree.
    pub correct: usize,
}

impl Row {
    /// Correct among predicted (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }

    /// Correct among labelled (1 when nothing was labelled).
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.labelled)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// A corpus scored.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Messages scored.
    pub messages: usize,
    /// Suppressions and reviews by reason, then message kinds, then reply classes.
    pub rows: Vec<Row>,
    /// Messages that must never suppress (auto-replies, positive and not-interested replies)
    /// that did, with what they suppressed.
    pub wrongly_suppressed: Vec<String>,
    /// Every disagreement, one line each (`file: expected ..., got ...`).
    pub misses: Vec<String>,
}

impl Report {
    /// The row named `what`.
    pub fn row(&self, what: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.what == what)
    }

    /// The targets of the product: hard-bounce precision 100% and recall 95%, unsubscribe
    /// recall 95%, nothing suppressed from auto-replies, positive or not-interested replies.
    /// Each target missed, in words.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let hard = self.row("suppress hard-bounce");
        if hard.is_some_and(|r| r.precision() < 1.0) {
            out.push("hard-bounce precision is under 100%".to_string());
        }
        if hard.is_some_and(|r| r.recall() < 0.95) {
            out.push("hard-bounce recall is under 95%".to_string());
        }
        if self
            .row("suppress unsubscribe")
            .is_some_and(|r| r.recall() < 0.95)
        {
            out.push("unsubscribe recall is under 95%".to_string());
        }
        if !self.wrongly_suppressed.is_empty() {
            out.push(format!(
                "{} auto-reply, positive or not-interested message(s) suppressed",
                self.wrongly_suppressed.len()
            ));
        }
        out
    }

    /// The rows as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| decision | labelled | given | correct | precision | recall |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1}% | {:.1}% |\n",
                r.what,
                r.labelled,
                r.predicted,
                r.correct,
                100.0 * r.precision(),
                100.0 * r.recall()
            ));
        }
        out
    }
}

/// Scores `classifier` against the labels in `labels` (JSON lines).
pub fn score(classifier: &Classifier, labels: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(labels)
        .map_err(|e| format!("{}: cannot read: {e}", labels.display()))?;
    let base = labels.parent().unwrap_or(Path::new("."));
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut given: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut wrongly_suppressed = Vec::new();
    let mut messages = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let label: Label = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", labels.display(), n + 1))?;
        let raw = std::fs::read(base.join(&label.file))
            .map_err(|e| format!("{}: cannot read: {e}", label.file))?;
        let got = classifier.classify(&raw);
        messages += 1;
        let file = &label.file;
        expected.insert((file.clone(), "kind".into(), label.kind.to_string()));
        given.insert((file.clone(), "kind".into(), got.kind.to_string()));
        if let Some(c) = label.class {
            expected.insert((file.clone(), "class".into(), c.to_string()));
        }
        if let Some(c) = got.class {
            given.insert((file.clone(), "class".into(), c.to_string()));
        }
        for a in &label.actions {
            expected.insert((file.clone(), decision(a.action, a.reason), norm(&a.target)));
        }
        for a in got.actions.iter().filter(|a| a.action != ActionKind::None) {
            given.insert((file.clone(), decision(a.action, a.reason), norm(&a.target)));
        }
        let never = label.kind == Kind::AutoReply
            || matches!(label.class, Some(Class::Positive | Class::NotInterested));
        let suppressed: Vec<&str> = got
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Suppress)
            .map(|a| a.target.as_str())
            .collect();
        if never && !suppressed.is_empty() {
            wrongly_suppressed.push(format!("{file}: {}", suppressed.join(", ")));
        }
    }
    Ok(Report {
        messages,
        rows: rows(&expected, &given),
        wrongly_suppressed,
        misses: misses(&expected, &given),
    })
}

/// `suppress hard-bounce`, `review unsubscribe`, ...
fn decision(action: ActionKind, reason: Option<Reason>) -> String {
    match reason {
        Some(r) => format!("{action} {r}"),
        None => action.to_string(),
    }
}

fn norm(target: &str) -> String {
    Target::parse(target)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| target.to_lowercase())
}

type Facts = BTreeSet<(String, String, String)>;

/// One row per decision (by what it is and, for kinds and classes, by value).
fn rows(expected: &Facts, given: &Facts) -> Vec<Row> {
    let label = |(_, what, value): &(String, String, String)| match what.as_str() {
        "kind" | "class" => format!("{what} {value}"),
        _ => what.clone(),
    };
    let names: BTreeSet<String> = expected.iter().chain(given.iter()).map(label).collect();
    // Suppressions first, then reviews, kinds and classes.
    let order = |n: &String| {
        let rank = ["suppress", "review", "kind", "class"]
            .iter()
            .position(|p| n.starts_with(p))
            .unwrap_or(4);
        (rank, n.clone())
    };
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_by_key(order);
    names
        .into_iter()
        .map(|what| {
            let of = |set: &Facts| -> BTreeSet<(String, String, String)> {
                set.iter().filter(|f| label(f) == what).cloned().collect()
            };
            let (e, g) = (of(expected), of(given));
            Row {
                correct: e.intersection(&g).count(),
                labelled: e.len(),
                predicted: g.len(),
                what,
            }
        })
        .collect()
}

fn misses(expected: &Facts, given: &Facts) -> Vec<String> {
    let missing = expected
        .difference(given)
        .map(|(f, what, v)| format!("{f}: expected {what} {v}, not given"));
    let extra = given
        .difference(expected)
        .map(|(f, what, v)| format!("{f}: gave {what} {v}, not expected"));
    missing.chain(extra).collect()
}
