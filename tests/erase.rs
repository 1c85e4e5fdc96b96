//! Erasure that keeps the block, through the built binary: after `erase`, no byte of the
//! store file and no line of the decision log holds the address, and the next RCPT to it (in
//! any spelling) is still refused.

mod common;

use common::process::{text, Relay, Smtp};

fn rcpt(relay: &Relay, to: &str) -> String {
    let mut s = Smtp::connect(relay.addr);
    s.cmd("EHLO tool.example\r\n");
    s.cmd("MAIL FROM:<rep@sales.example>\r\n");
    let reply = s.cmd(&format!("RCPT TO:<{to}>\r\n"));
    s.cmd("QUIT\r\n");
    reply
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    bytes
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[test]
fn an_erased_address_leaves_no_trace_in_the_store_or_the_log_and_stays_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let relay = Relay::start(&data);
    let run = |args: &[&str]| {
        let out = relay.cli(args);
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    };
    // A history: mail relayed before the opt-out, the opt-out with evidence naming her, a
    // refused attempt, a lift asked and denied.
    let mut s = Smtp::connect(relay.addr);
    s.cmd("EHLO tool.example\r\n");
    s.cmd("MAIL FROM:<rep@sales.example>\r\n");
    s.cmd("RCPT TO:<Jane.Roe@Example.com>\r\n");
    s.cmd("DATA\r\n");
    assert!(s
        .cmd("Subject: hi\r\n\r\nHello Jane\r\n.\r\n")
        .starts_with("250"));
    s.cmd("QUIT\r\n");
    let (code, _, err) = run(&[
        "suppress",
        "add",
        "jane.roe@example.com",
        "--reason",
        "unsubscribe",
        "--source",
        "reply",
        "--evidence",
        "Jane Roe <jane.roe@example.com> wrote: please stop",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(rcpt(&relay, "jane.roe+news@example.com").starts_with("550 5.7.1"));
    let (code, _, err) = run(&[
        "lift",
        "request",
        "jane.roe@example.com",
        "--proof",
        "jane.roe@example.com asked again",
    ]);
    assert_eq!(code, 0, "{err}");
    run(&[
        "lift",
        "deny",
        "1",
        "--why",
        "no proof from jane.roe@example.com",
    ]);
    // Many other entries around it, so that the file has pages to reuse.
    for i in 0..50 {
        run(&[
            "suppress",
            "add",
            &format!("other{i}@example.net"),
            "--reason",
            "unsubscribe",
        ]);
    }

    let (code, out, err) = run(&[
        "erase",
        "Jane.Roe@example.com",
        "--proof",
        "GDPR erasure request, ticket 8812",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the block stays in force"), "{out}");

    // Still refused, in any spelling; the others are untouched.
    for spelling in ["jane.roe@example.com", "Jane.Roe+x@EXAMPLE.com"] {
        let reply = rcpt(&relay, spelling);
        assert!(reply.starts_with("550 5.7.1"), "{spelling}: {reply}");
    }
    assert!(rcpt(&relay, "other7@example.net").starts_with("550"));
    assert!(rcpt(&relay, "someone@example.com").starts_with("250"));
    let (code, _, _) = run(&["check", "jane.roe@example.com"]);
    assert_eq!(code, 1);

    // No trace of the address or her name in the store file or the decision log.
    let store = std::fs::read(data.join("dnc.redb")).expect("store");
    for needle in ["jane.roe@example.com", "jane.roe+news", "Jane Roe"] {
        if let Some(i) = store
            .windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        {
            let ctx =
                String::from_utf8_lossy(&store[i.saturating_sub(120)..(i + 120).min(store.len())])
                    .to_string();
            panic!("the store file still holds {needle}: {ctx:?}");
        }
    }
    let log = std::fs::read(data.join("decisions.jsonl")).expect("log");
    assert!(!holds(&log, "jane.roe"), "the decision log still names her");
    assert!(holds(&log, "sha256:"), "its lines carry the hashed key");
    assert!(holds(&log, "other7@example.net"), "other lines are kept");
    // The salt is outside the store.
    assert!(data.join("erasure.salt").exists());
    // Erased again (a retry): the entry stands as it was (its reason is kept).
    let (code, out, err) = run(&[
        "erase",
        "jane.roe@example.com",
        "--proof",
        "ticket 8812, retry",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the block stays in force"), "{out}");
    let (_, out, _) = run(&["check", "jane.roe@example.com"]);
    assert!(out.contains("unsubscribe"), "{out}");
    // A proof that names someone is refused: it is kept after the erasure.
    let (code, _, _) = run(&["erase", "x@example.com", "--proof", "from x@example.com"]);
    assert_eq!(code, 2);
    relay.sigterm();

    // Another salt would let the erased contacts through: the relay refuses to start.
    let salt = data.join("erasure.salt");
    std::fs::write(&salt, format!("{}\n", "ab".repeat(32))).expect("salt");
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not the salt"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(&salt).expect("rm");
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("serve");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing salt is not made anew: {}",
        text(&out.stderr)
    );
}

#[test]
fn retention_purge_lists_then_erases_contacts_past_the_bound() {
    use dnc_relay::model::Timestamp;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[[purposes]]\nname = \"newsletter\"\nrequires_consent = true\n\
             [[sender_groups]]\nname = \"news\"\nsenders = [\"@news.example\"]\npurpose = \"newsletter\"\n",
            data.display().to_string()
        ),
    )
    .expect("config");
    let relay = Relay::start_with_config(&config, &data);
    let run = |args: &[&str]| {
        let out = relay.cli(args);
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    };
    let old = Timestamp::now()
        .minus(std::time::Duration::from_secs(37 * 2_630_016))
        .to_string();
    run(&[
        "consent",
        "add",
        "old.timer@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "Old Timer's form",
        "--at",
        &old,
    ]);
    run(&[
        "consent",
        "add",
        "fresh@example.com",
        "--purpose",
        "newsletter",
        "--proof",
        "form",
    ]);
    let (code, out, err) = run(&["retention", "purge"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("old.timer@example.com"), "{out}");
    assert!(!out.contains("fresh@example.com"), "{out}");
    assert!(out.contains("a dry run"), "{out}");
    let (code, out, err) = run(&["retention", "purge", "--apply"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sha256:") && out.contains("erased"), "{out}");
    let (code, out, _) = run(&["consent", "show", "old.timer@example.com"]);
    assert_eq!(code, 1, "{out}");
    let store = std::fs::read(data.join("dnc.redb")).expect("store");
    assert!(
        !holds(&store, "old.timer@example.com"),
        "the store still holds the address"
    );
    assert!(
        !holds(&store, "Old Timer"),
        "the store still holds the proof's name"
    );
    assert!(holds(&store, "fresh@example.com"));
    relay.sigterm();
}
