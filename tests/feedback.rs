//! Feedback classification as a user meets it: `dnc-relay feedback classify` on the README's
//! example files, with the shipped rules and with a rules file of one's own, and our own
//! domains spared.

mod common;

use std::path::Path;
use std::process::Command;

use common::binary;
use common::process::{text, Relay, Smtp};
use serde_json::Value;

/// Runs `feedback classify --json` on `files` (relative to the crate) with `config`, if any.
fn classify(config: Option<&Path>, files: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::new(binary());
    cmd.env_remove("DNC_RELAY_CONFIG")
        .args(["feedback", "classify", "--json"]);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.args(files).output().expect("run dnc-relay");
    let lines = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (out.status.code(), lines, text(&out.stderr))
}

/// `(target, action, reason, status)` of each action of a line.
fn actions(line: &Value) -> Vec<(String, String, Option<String>, Option<String>)> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    line["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                s(&a["target"]).unwrap_or_default(),
                s(&a["action"]).unwrap_or_default(),
                s(&a["reason"]),
                s(&a["status"]),
            )
        })
        .collect()
}

fn owned(
    target: &str,
    action: &str,
    reason: Option<&str>,
    status: Option<&str>,
) -> (String, String, Option<String>, Option<String>) {
    (
        target.into(),
        action.into(),
        reason.map(Into::into),
        status.map(Into::into),
    )
}

const EXAMPLES: &[&str] = &[
    "tests/feedback/examples/hard-bounce.eml",
    "tests/feedback/examples/mailbox-full.eml",
    "tests/feedback/examples/complaint.eml",
    "tests/feedback/examples/reply-stop-fr.eml",
    "tests/feedback/examples/out-of-office.eml",
    "tests/feedback/examples/reply-positive.eml",
];

#[test]
fn classify_says_what_the_readme_says_of_its_examples() {
    let (code, lines, stderr) = classify(None, EXAMPLES);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines.len(), EXAMPLES.len());
    let kinds: Vec<(&str, &str, Option<&str>)> = lines
        .iter()
        .map(|l| {
            (
                l["file"].as_str().unwrap_or(""),
                l["kind"].as_str().unwrap_or(""),
                l["class"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (EXAMPLES[0], "dsn", None),
            (EXAMPLES[1], "dsn", None),
            (EXAMPLES[2], "arf", None),
            (EXAMPLES[3], "reply", Some("unsubscribe")),
            (EXAMPLES[4], "auto-reply", None),
            (EXAMPLES[5], "reply", Some("positive")),
        ]
    );
    assert_eq!(
        actions(&lines[0]),
        [
            owned(
                "pat@example.com",
                "suppress",
                Some("hard-bounce"),
                Some("5.1.1")
            ),
            owned("lee@example.com", "none", None, Some("5.2.2")),
        ]
    );
    assert_eq!(
        actions(&lines[1]),
        [owned("kim@example.com", "none", None, Some("5.2.2"))]
    );
    assert_eq!(
        actions(&lines[2]),
        [owned("jo@isp.example", "suppress", Some("complaint"), None)]
    );
    assert_eq!(
        actions(&lines[3]),
        [owned(
            "pat@initech.fr",
            "suppress",
            Some("unsubscribe"),
            None
        )]
    );
    assert!(
        actions(&lines[4]).is_empty(),
        "an out-of-office does nothing"
    );
    assert_eq!(
        actions(&lines[5]),
        [owned("alex@umbrella.example", "none", None, None)],
        "the quoted footer's STOP is not the reader's"
    );
}

#[test]
fn a_rules_file_of_ones_own_replaces_the_words_and_a_broken_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = std::fs::read_to_string("config/feedback-rules.toml").expect("shipped rules");
    // Ops teach it a word: "fruitcake" is how this market says stop.
    let taught = shipped.replacen(
        "    'unsubscribe',\n",
        "    'unsubscribe',\n    'fruitcake',\n",
        1,
    );
    assert_ne!(taught, shipped, "the unsubscribe list starts as expected");
    std::fs::write(dir.path().join("rules.toml"), taught).expect("write rules");
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, "[feedback]\nrules = \"rules.toml\"\n").expect("write config");
    let message = dir.path().join("fruitcake.eml");
    std::fs::write(
        &message,
        "From: Pat <pat@globex.example>\r\nTo: sam@acme.example\r\nSubject: Re: hello\r\n\r\nFruitcake!\r\n",
    )
    .expect("write message");
    let file = message.to_str().expect("utf-8 path");
    let (code, lines, stderr) = classify(Some(&config), &[file]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        actions(&lines[0]),
        [owned(
            "pat@globex.example",
            "suppress",
            Some("unsubscribe"),
            None
        )]
    );
    // The shipped words alone do not know it.
    let (_, lines, _) = classify(None, &[file]);
    assert_eq!(lines[0]["class"], "unclear");

    std::fs::write(
        dir.path().join("rules.toml"),
        shipped.replacen("'user unknown'", "'user (unknown'", 1),
    )
    .expect("write broken rules");
    let (code, lines, stderr) = classify(Some(&config), &[file]);
    assert_eq!(code, Some(2));
    assert!(lines.is_empty());
    assert!(stderr.contains("user (unknown"), "{stderr}");
    let check = Command::new(binary())
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .expect("run check-config");
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stdout));
    assert!(
        text(&check.stderr).contains("feedback.rules"),
        "{}",
        text(&check.stderr)
    );
}

#[test]
fn our_own_domains_are_never_suppressed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "[feedback]\ninternal_domains = [\"initech.fr\"]\n\n[[owners]]\nname = \"sam\"\nsenders = [\"@isp.example\"]\n",
    )
    .expect("write config");
    let files = [EXAMPLES[3], EXAMPLES[2]];
    let (code, lines, stderr) = classify(Some(&config), &files);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        actions(&lines[0]),
        [owned("pat@initech.fr", "none", Some("unsubscribe"), None)],
        "[feedback] internal_domains"
    );
    assert_eq!(
        actions(&lines[1]),
        [owned("jo@isp.example", "none", Some("complaint"), None)],
        "an owner's sender domain"
    );
}

#[test]
fn an_unreadable_file_is_exit_2_and_the_others_are_still_classified() {
    let (code, lines, stderr) = classify(None, &["tests/feedback/examples/none.eml", EXAMPLES[0]]);
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 1);
    assert!(stderr.contains("none.eml"), "{stderr}");
}

/// `relay.cli(args)` with its exit code and output.
fn run(relay: &Relay, args: &[&str]) -> (Option<i32>, String, String) {
    let out = relay.cli(args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn ingested_feedback_takes_effect_at_the_next_rcpt_and_is_on_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(dir.path());
    let rcpt = |to: &str| Smtp::rcpt_reply(relay.addr, to);
    assert!(rcpt("pat@example.com").starts_with("250"));

    // A DSN for pat (5.1.1): the next RCPT is 550 5.1.1.
    let (code, out, err) = run(&relay, &["ingest", EXAMPLES[0]]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("feedback #1: dsn"), "{out}");
    let reply = rcpt("pat@example.com");
    assert!(reply.starts_with("550 5.1.1"), "{reply}");
    assert!(
        rcpt("lee@example.com").starts_with("250"),
        "a full mailbox suppresses nothing"
    );

    // A complaint report: reason complaint. A French reply: its sender.
    let (code, _, err) = run(&relay, &["ingest", EXAMPLES[2], EXAMPLES[3]]);
    assert_eq!(code, Some(0), "{err}");
    assert!(rcpt("jo@isp.example").starts_with("550"));
    assert!(rcpt("pat@initech.fr").starts_with("550"));
    let (_, shown, _) = run(&relay, &["suppress", "show", "jo@isp.example", "--json"]);
    let shown: Value = serde_json::from_str(&shown).expect("json");
    assert_eq!(shown["entry"]["reason"], "complaint");
    assert_eq!(shown["entry"]["source"], "fbl");
    assert!(shown["entry"]["actor"]["user"]
        .as_str()
        .is_some_and(|u| u.starts_with("feedback via ")));
    let (_, timeline, _) = run(&relay, &["suppress", "show", "pat@initech.fr"]);
    assert!(
        timeline.contains("feedback #3: reply (unsubscribe)"),
        "{timeline}"
    );
    assert!(
        timeline.contains("ne plus me contacter"),
        "evidence: {timeline}"
    );

    // Nothing actionable: exit 1, nothing changes; --sysexits makes it 0 for MTA pipes.
    let (code, _, _) = run(&relay, &["ingest", EXAMPLES[4]]);
    assert_eq!(code, Some(1));
    let (code, _, _) = run(&relay, &["ingest", "--sysexits", EXAMPLES[1]]);
    assert_eq!(code, Some(0));
    assert!(rcpt("kim@example.com").starts_with("250"));
    // The same message twice is one record.
    let (code, out, _) = run(&relay, &["ingest", EXAMPLES[0]]);
    assert_eq!(code, Some(0));
    assert!(out.contains("feedback #1: dsn, seen before"), "{out}");
    // Bad input: 2.
    let empty = dir.path().join("empty.eml");
    std::fs::write(&empty, "\n").expect("write");
    let (code, _, err) = run(&relay, &["ingest", empty.to_str().expect("path")]);
    assert_eq!(code, Some(2), "{err}");
    let (_, list, _) = run(&relay, &["feedback", "list"]);
    assert_eq!(list.lines().count(), 5, "{list}");
}

#[test]
fn a_maildir_is_emptied_into_cur_as_each_message_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(dir.path());
    let maildir = dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for (i, example) in EXAMPLES.iter().enumerate() {
        std::fs::copy(example, maildir.join("new").join(format!("100{i}.M1.host"))).expect("copy");
    }
    let (code, out, err) = run(
        &relay,
        &["ingest", "--maildir", maildir.to_str().expect("path")],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).expect("new").count(),
        0
    );
    let cur: Vec<String> = std::fs::read_dir(maildir.join("cur"))
        .expect("cur")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cur.len(), EXAMPLES.len());
    assert!(cur.iter().all(|n| n.ends_with(":2,S")), "{cur:?}");
    assert!(Smtp::rcpt_reply(relay.addr, "pat@example.com").starts_with("550"));
}

#[test]
fn a_company_wide_request_from_free_mail_waits_for_a_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(dir.path());
    let message = dir.path().join("company.eml");
    std::fs::write(
        &message,
        "From: Jo <jo.b@gmail.com>\r\nTo: sam@acme.example\r\nSubject: Re: offer\r\n\r\nPlease do not contact anyone at our company again.\r\n",
    )
    .expect("write");
    let (code, out, err) = run(
        &relay,
        &["ingest", "--json", message.to_str().expect("path")],
    );
    assert_eq!(code, Some(0), "{err}");
    let line: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(line["class"], "unsubscribe-company");
    assert_eq!(
        actions(&line),
        [
            owned("jo.b@gmail.com", "suppress", Some("unsubscribe"), None),
            owned("@gmail.com", "review", Some("unsubscribe"), None),
        ]
    );
    assert!(Smtp::rcpt_reply(relay.addr, "jo.b@gmail.com").starts_with("550"));
    assert!(Smtp::rcpt_reply(relay.addr, "someone@gmail.com").starts_with("250"));
    let (_, pending, _) = run(&relay, &["feedback", "list", "--pending"]);
    assert!(
        pending.contains("review @gmail.com") && pending.contains("[review pending]"),
        "{pending}"
    );

    // A dismissal needs a reason; then nothing is suppressed and nothing is pending.
    let (code, _, err) = run(&relay, &["feedback", "dismiss", "1", "--why", ""]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = run(
        &relay,
        &[
            "feedback",
            "dismiss",
            "1",
            "--why",
            "free mail: not a company",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (_, pending, _) = run(&relay, &["feedback", "list", "--pending"]);
    assert_eq!(pending.trim(), "no feedback waiting for review");
    let (code, _, _) = run(&relay, &["feedback", "confirm", "1"]);
    assert_eq!(code, Some(1), "reviewed already");
    let (_, shown, _) = run(&relay, &["feedback", "show", "1"]);
    assert!(
        shown.contains("dismissed by") && shown.contains("free mail: not a company"),
        "{shown}"
    );
    assert!(Smtp::rcpt_reply(relay.addr, "someone@gmail.com").starts_with("250"));
}

/// Sends `file` (relative to the crate) to the feedback listener at `addr` with lettre, from
/// the null sender (as bounces come) to `to`; the listener's reply code.
fn send_feedback(addr: std::net::SocketAddr, to: &str, file: &str) -> u16 {
    use lettre::address::Envelope;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let raw = std::fs::read(file).expect("example file");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(addr.port())
            .build();
        let envelope = Envelope::new(None, vec![to.parse().expect("address")]).expect("envelope");
        match transport.send_raw(&envelope, &raw).await {
            Ok(response) => u16::from(response.code()),
            Err(e) => e.status().map(u16::from).unwrap_or(0),
        }
    })
}

/// Polls `check` for up to 5 seconds; how long it took to hold, or `None`.
fn within_seconds(check: impl Fn() -> bool) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(5) {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

#[test]
fn mail_to_the_feedback_listener_takes_effect_at_the_next_rcpt_and_nothing_else_gets_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::process::free_port();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[feedback]\nlisten = [\"127.0.0.1:{port}\"]\ndomains = [\"fb.example.com\"]\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("config");
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    let listener: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let rcpt = |to: &str| Smtp::rcpt_reply(relay.addr, to);
    for to in [
        "pat@example.com",
        "lee@example.com",
        "jo@isp.example",
        "pat@initech.fr",
    ] {
        assert!(rcpt(to).starts_with("250"), "{to} before any feedback");
    }

    // A DSN (5.1.1) from <>: kept, then in force at the next RCPT.
    assert_eq!(
        send_feedback(listener, "bounces@fb.example.com", EXAMPLES[0]),
        250
    );
    let took = within_seconds(|| rcpt("pat@example.com").starts_with("550 5.1.1"));
    assert!(took.is_some(), "the hard bounce never took effect");
    // A complaint report: reason complaint. A French "ne plus me contacter": its sender.
    assert_eq!(
        send_feedback(listener, "fbl@FB.example.com", EXAMPLES[2]),
        250
    );
    assert_eq!(
        send_feedback(listener, "replies@fb.example.com", EXAMPLES[3]),
        250
    );
    assert!(within_seconds(|| rcpt("jo@isp.example").starts_with("550 5.7.1")).is_some());
    assert!(within_seconds(|| rcpt("pat@initech.fr").starts_with("550 5.7.1")).is_some());
    let (_, shown, _) = run(&relay, &["suppress", "show", "jo@isp.example", "--json"]);
    let shown: Value = serde_json::from_str(&shown).expect("json");
    assert_eq!(shown["entry"]["reason"], "complaint");
    assert_eq!(shown["entry"]["actor"]["user"], "feedback");

    // An out-of-office and a full mailbox: recorded, nothing changes.
    assert_eq!(
        send_feedback(listener, "replies@fb.example.com", EXAMPLES[4]),
        250
    );
    assert_eq!(
        send_feedback(listener, "bounces@fb.example.com", EXAMPLES[1]),
        250
    );
    let recorded = || {
        let (_, list, _) = run(&relay, &["feedback", "list"]);
        list.lines().count() == 5
    };
    assert!(within_seconds(recorded).is_some(), "five records");
    assert!(rcpt("lee@example.com").starts_with("250"));
    assert!(rcpt("sam@globex.example").starts_with("250"));

    // Anything but the feedback domains: 550 5.7.1, and no DATA to take.
    let mut s = Smtp::connect(listener);
    s.cmd("EHLO mx.elsewhere.example\r\n");
    assert!(s
        .cmd("MAIL FROM:<spammer@elsewhere.example>\r\n")
        .starts_with("250"));
    let reply = s.cmd("RCPT TO:<victim@example.org>\r\n");
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(s
        .cmd("RCPT TO:<x@sub.fb.example.com>\r\n")
        .starts_with("550 5.7.1"));
    assert!(s.cmd("DATA\r\n").starts_with("554"));
    s.cmd("QUIT\r\n");
    // <postmaster> is taken, as RFC 5321 asks of every server.
    let mut s = Smtp::connect(listener);
    s.cmd("EHLO mx.elsewhere.example\r\n");
    s.cmd("MAIL FROM:<>\r\n");
    let reply = s.cmd("RCPT TO:<postmaster>\r\n");
    assert!(reply.starts_with("250"), "{reply}");
    s.cmd("QUIT\r\n");
    let (_, list, _) = run(&relay, &["feedback", "list"]);
    assert_eq!(list.lines().count(), 5, "{list}");
}

#[test]
fn check_config_shows_the_feedback_listener_and_refuses_one_without_domains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("relay.toml");
    let check = |body: &str| {
        std::fs::write(&config, body).expect("config");
        let out = Command::new(binary())
            .args(["check-config", "--config"])
            .arg(&config)
            .output()
            .expect("run check-config");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, out, err) =
        check("[feedback]\nlisten = [\"127.0.0.1:2526\"]\ndomains = [\"fb.example.com\"]\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("feedback    listen 127.0.0.1:2526 for fb.example.com"),
        "{out}"
    );
    let (code, _, err) = check("[feedback]\nlisten = [\"127.0.0.1:2526\"]\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("feedback.domains"), "{err}");
    let (code, _, err) = check(
        "[server]\nlisten = [\"127.0.0.1:2526\"]\n[feedback]\nlisten = [\"127.0.0.1:2526\"]\ndomains = [\"fb.example.com\"]\n",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("feedback.listen"), "{err}");
}

#[test]
fn the_labelled_corpus_meets_the_accuracy_targets() {
    let corpus = Path::new("tests/feedback/corpus");
    let config = dnc_relay::config::Config::load(Some(&corpus.join("relay.toml"))).expect("config");
    let classifier = dnc_relay::feedback::Classifier::from_config(&config).expect("rules");
    let report = dnc_relay::feedback::score::score(&classifier, &corpus.join("labels.jsonl"))
        .expect("score");
    assert!(report.messages >= 300, "{} messages", report.messages);
    let labelled = |what: &str| report.row(what).map_or(0, |r| r.labelled);
    // The corpus holds what the issue asks for: replies, bounces both ways, complaints.
    assert!(labelled("kind reply") >= 150);
    assert!(labelled("suppress hard-bounce") >= 25);
    assert!(labelled("kind dsn") >= 60);
    assert!(labelled("suppress complaint") >= 10);
    let missed = report.missed_targets();
    assert!(
        missed.is_empty(),
        "{missed:?}\n{}\n{}",
        report.table(),
        report.misses.join("\n")
    );
    // The same through the command line: exit 0, the table printed.
    let out = Command::new(binary())
        .args(["feedback", "score", "--config"])
        .arg(corpus.join("relay.toml"))
        .arg(corpus.join("labels.jsonl"))
        .output()
        .expect("run feedback score");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The held-out set, written apart from the rules (see the README for its first score).
    let holdout = Path::new("tests/feedback/holdout");
    let config =
        dnc_relay::config::Config::load(Some(&holdout.join("relay.toml"))).expect("config");
    let classifier = dnc_relay::feedback::Classifier::from_config(&config).expect("rules");
    let report = dnc_relay::feedback::score::score(&classifier, &holdout.join("labels.jsonl"))
        .expect("score");
    assert!(report.messages >= 100);
    assert!(
        report.missed_targets().is_empty(),
        "{}\n{}",
        report.table(),
        report.misses.join("\n")
    );
    // The README shows this very table.
    let readme = std::fs::read_to_string("README.md").expect("README");
    let shown: Vec<&str> = readme
        .split("<!-- feedback-score -->\n")
        .nth(1)
        .expect("the README's accuracy table")
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect();
    let printed = text(&out.stdout);
    let printed: Vec<&str> = printed.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(printed, shown, "update the README's accuracy table");
}

#[test]
fn the_readme_shows_what_classify_prints_for_the_example_files() {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let block = readme
        .split("<!-- classify-examples:")
        .nth(1)
        .and_then(|rest| rest.split("```json\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README's classify block");
    let shown: Vec<Value> = block
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mut files: Vec<&str> = EXAMPLES.to_vec();
    files.sort(); // as the shell expands tests/feedback/examples/*.eml
    let (code, printed, stderr) = classify(None, &files);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(printed, shown, "update the README's example block");
}
