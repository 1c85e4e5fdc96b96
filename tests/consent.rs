//! Consent per purpose as a compliance reader would check it, through the built binary: a
//! newsletter sender group refuses a recipient without consent (`550 5.7.1 ... no consent
//! recorded for newsletter`) and relays once `consent add` recorded one; the list wins over
//! a consent; `consent withdraw` and a one-click unsubscribe from the newsletter end it; a CSV
//! of consents is checked row by row before any is recorded, and exported back.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::process::{free_port, text, Relay, Smtp};

struct Setup {
    relay: Relay,
    http: SocketAddr,
    dir: tempfile::TempDir,
}

impl Setup {
    fn start() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let http = free_port();
        let config = dir.path().join("relay.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\n\
                 [unsubscribe]\nlisten = [\"127.0.0.1:{http}\"]\nbase_url = \"http://127.0.0.1:{http}/\"\n\
                 [[purposes]]\nname = \"newsletter\"\nrequires_consent = true\n\
                 [[purposes]]\nname = \"prospecting\"\n\
                 [[sender_groups]]\nname = \"news\"\nsenders = [\"@news.example\"]\npurpose = \"newsletter\"\nlist_unsubscribe = true\n\
                 [[sender_groups]]\nname = \"sales\"\nsenders = [\"@sales.example\"]\npurpose = \"prospecting\"\n",
                dir.path().join("data").display().to_string()
            ),
        )
        .expect("config");
        let relay = Relay::start_with_config(&config, &dir.path().join("data"));
        Setup {
            relay,
            http: format!("127.0.0.1:{http}").parse().expect("addr"),
            dir,
        }
    }

    fn rcpt(&self, from: &str, to: &str) -> String {
        let mut s = Smtp::connect(self.relay.addr);
        s.cmd("EHLO tool.example\r\n");
        s.cmd(&format!("MAIL FROM:<{from}>\r\n"));
        let reply = s.cmd(&format!("RCPT TO:<{to}>\r\n"));
        s.cmd("QUIT\r\n");
        reply
    }

    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.relay.cli(args);
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }

    /// Sends one message through the relay; the final reply.
    fn send(&self, from: &str, to: &str) -> String {
        let mut s = Smtp::connect(self.relay.addr);
        s.cmd("EHLO tool.example\r\n");
        s.cmd(&format!("MAIL FROM:<{from}>\r\n"));
        s.cmd(&format!("RCPT TO:<{to}>\r\n"));
        s.cmd("DATA\r\n");
        let reply = s.cmd(&format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: News\r\n\r\nThis month's news.\r\n.\r\n"
        ));
        s.cmd("QUIT\r\n");
        reply
    }
}

#[test]
fn a_newsletter_needs_a_consent_in_force_and_the_list_still_wins() {
    let s = Setup::start();
    let refused = s.rcpt("editor@news.example", "ann@example.com");
    assert!(
        refused.starts_with("550 5.7.1 <ann@example.com>: no consent recorded for newsletter"),
        "{refused}"
    );
    // Prospecting needs no consent: the same contact is reachable by sales.
    assert!(s
        .rcpt("rep@sales.example", "ann@example.com")
        .starts_with("250"));
    let (code, out, err) = s.cli(&[
        "consent",
        "add",
        "Ann@Example.com",
        "--purpose",
        "newsletter",
        "--channel",
        "email",
        "--proof",
        "signup form on /newsletter, 2026-11-02, IP 192.0.2.7",
        "--double-opt-in",
        "--at",
        "2026-11-02T10:00:00Z",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("consent of ann@example.com for newsletter recorded"),
        "{out}"
    );
    assert!(s
        .rcpt("editor@news.example", "ann@example.com")
        .starts_with("250"));
    // A tag of the address counts as the address.
    assert!(s
        .rcpt("editor@news.example", "ann+news@example.com")
        .starts_with("250"));
    // The check command answers as the wire does.
    let (code, out, _) = s.cli(&["check", "bob@example.com", "--from", "editor@news.example"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no consent recorded for newsletter"), "{out}");

    // The list wins over a consent.
    let (code, _, err) = s.cli(&[
        "suppress",
        "add",
        "ann@example.com",
        "--reason",
        "complaint",
        "--evidence",
        "FBL",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(s
        .rcpt("editor@news.example", "ann@example.com")
        .starts_with("550 5.7.1"));

    // Withdrawn: refused for want of consent; shown with its history.
    s.cli(&[
        "consent",
        "add",
        "cy@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "paper form #88",
    ]);
    assert!(s
        .rcpt("editor@news.example", "cy@example.com")
        .starts_with("250"));
    let (code, _, err) = s.cli(&[
        "consent",
        "withdraw",
        "cy@example.com",
        "--purpose",
        "newsletter",
        "--why",
        "asked by phone",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(s
        .rcpt("editor@news.example", "cy@example.com")
        .contains("no consent recorded for newsletter"));
    // A consent dated before its withdrawal (an old form, an old export) does not undo it.
    let (code, _, err) = s.cli(&[
        "consent",
        "add",
        "cy@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "old CRM",
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was withdrawn"), "{err}");
    let (code, out, _) = s.cli(&["consent", "show", "cy@example.com"]);
    assert_eq!(code, 1, "no consent in force: exit 1\n{out}");
    assert!(out.contains("withdrawn"), "{out}");
    assert!(out.contains("paper form #88"), "{out}");
    assert!(out.contains("asked by phone"), "{out}");

    // An unknown purpose or a missing proof changes nothing (exit 2).
    let (code, _, err) = s.cli(&[
        "consent",
        "add",
        "d@example.com",
        "--purpose",
        "news",
        "--proof",
        "x",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a purpose"), "{err}");
    let (code, _, _) = s.cli(&[
        "consent",
        "add",
        "d@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        " ",
    ]);
    assert_eq!(code, 2);

    // Withdrawn under a tagged spelling: the consent RCPT would use is the one withdrawn.
    s.cli(&[
        "consent",
        "add",
        "eve@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "form",
    ]);
    let (code, _, err) = s.cli(&[
        "consent",
        "withdraw",
        "Eve+News@example.com",
        "--purpose",
        "newsletter",
        "--why",
        "stop",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(s
        .rcpt("editor@news.example", "eve+news@example.com")
        .contains("no consent"));

    // A withdrawal while a transaction is open stops its message at the end of DATA.
    s.cli(&[
        "consent",
        "add",
        "fay@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "form",
    ]);
    let mut smtp = Smtp::connect(s.relay.addr);
    smtp.cmd("EHLO tool.example\r\n");
    smtp.cmd("MAIL FROM:<editor@news.example>\r\n");
    assert!(smtp.cmd("RCPT TO:<fay@example.com>\r\n").starts_with("250"));
    let (code, _, _) = s.cli(&[
        "consent",
        "withdraw",
        "fay@example.com",
        "--purpose",
        "newsletter",
        "--why",
        "x",
    ]);
    assert_eq!(code, 0);
    smtp.cmd("DATA\r\n");
    let end = smtp.cmd("Subject: x\r\n\r\nhi\r\n.\r\n");
    assert!(end.starts_with("451"), "{end}");
    smtp.cmd("QUIT\r\n");

    // The decision log says why.
    let log = std::fs::read_to_string(s.dir.path().join("data/decisions.jsonl")).expect("log");
    assert!(
        log.lines()
            .any(|l| l.contains("\"reason\":\"no-consent\"") && l.contains("\"group\":\"news\"")),
        "{log}"
    );
    s.relay.sigterm();
}

#[test]
fn a_one_click_unsubscribe_from_the_newsletter_withdraws_its_consent() {
    let s = Setup::start();
    s.cli(&[
        "consent",
        "add",
        "pat@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "signup form",
    ]);
    assert!(s
        .send("editor@news.example", "pat@example.com")
        .starts_with("250"));
    let outbox = s.dir.path().join("data/outbox");
    let message = std::fs::read_dir(&outbox)
        .expect("outbox")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .expect("a relayed message");
    let link = message
        .split("/u/")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .expect("a link");
    let body = "List-Unsubscribe=One-Click";
    let mut stream = TcpStream::connect(s.http).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "POST /u/{link} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.http,
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, out, _) = s.cli(&["consent", "show", "pat@example.com", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&out).expect("json");
    let withdrawn = &shown["consents"][0]["withdrawn"];
    assert!(
        withdrawn["why"]
            .as_str()
            .unwrap_or("")
            .contains("one-click unsubscribe"),
        "{out}"
    );
    assert!(s
        .rcpt("editor@news.example", "pat@example.com")
        .starts_with("550 5.7.1"));
    s.relay.sigterm();
}

#[test]
fn a_consent_file_is_checked_whole_before_any_row_is_recorded_and_exports_back() {
    let s = Setup::start();
    let bad = s.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "address,purpose,channel,proof,at,double_opt_in\n\
         a@example.com,newsletter,email,form A,2026-10-01T00:00:00Z,yes\n\
         not-an-address,newsletter,email,form B,,\n",
    )
    .expect("write");
    let (code, _, err) = s.cli(&["consent", "import", bad.to_str().expect("path")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.csv:3"), "{err}");
    assert!(s
        .rcpt("editor@news.example", "a@example.com")
        .contains("no consent"));
    let good = s.dir.path().join("good.csv");
    std::fs::write(
        &good,
        "address,purpose,channel,proof,at,double_opt_in\n\
         a@example.com,newsletter,email,form A,2026-10-01T00:00:00Z,yes\n\
         b@example.com,newsletter,email,\"=HYPERLINK(\"\"x\"\")\",,\n",
    )
    .expect("write");
    let (code, out, err) = s.cli(&["consent", "import", good.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 consents recorded"), "{out}");
    assert!(s
        .rcpt("editor@news.example", "b@example.com")
        .starts_with("250"));
    let (code, out, _) = s.cli(&["consent", "export"]);
    assert_eq!(code, 0);
    let mut lines = out.lines();
    assert!(lines
        .next()
        .unwrap_or("")
        .starts_with("address,purpose,channel,proof,at"));
    assert!(
        out.contains("a@example.com,newsletter,email,form A,2026-10-01T00:00:00.000000Z,true"),
        "{out}"
    );
    assert!(
        out.contains("'=HYPERLINK"),
        "a formula is neutralised on the way out: {out}"
    );
    s.relay.sigterm();
}

#[test]
fn a_consent_lapses_after_36_months_without_interaction_and_audit_dormant_lists_it() {
    use dnc_relay::model::Timestamp;
    let s = Setup::start();
    let month = Duration::from_secs(2_630_016);
    let ago = |months: u32| Timestamp::now().minus(month * months).to_string();
    for (who, months) in [
        ("old@example.com", 37),
        ("near@example.com", 35),
        ("fresh@example.com", 1),
    ] {
        let (code, _, err) = s.cli(&[
            "consent",
            "add",
            who,
            "--purpose",
            "newsletter",
            "--proof",
            "event badge scan",
            "--at",
            &ago(months),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    // 37 months without a reply, a click or a new consent: lapsed, refused like no consent.
    let refused = s.rcpt("editor@news.example", "old@example.com");
    assert!(
        refused.contains("no consent recorded for newsletter"),
        "{refused}"
    );
    assert!(s
        .rcpt("editor@news.example", "near@example.com")
        .starts_with("250"));
    let (code, out, _) = s.cli(&["audit", "dormant", "--months", "3"]);
    assert_eq!(code, 1, "a lapsed consent: exit 1\n{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("old@example.com") && lines[0].contains("LAPSED"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("near@example.com") && lines[1].contains("lapses"),
        "{out}"
    );
    let (_, json, _) = s.cli(&[
        "audit",
        "dormant",
        "--purpose",
        "newsletter",
        "--months",
        "0",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        report["contacts"].as_array().map(Vec::len),
        Some(1),
        "{json}"
    );
    assert_eq!(report["inactive_after_days"], 1095, "{json}");
    // A new consent is an interaction: the contact is reachable again.
    s.cli(&[
        "consent",
        "add",
        "old@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "renewed by mail",
    ]);
    assert!(s
        .rcpt("editor@news.example", "old@example.com")
        .starts_with("250"));
    s.relay.sigterm();
}
