//! Phone numbers on the same list, for the dialers, through the built binary: added in any
//! spelling and stored in E.164, checked, found by `scrub` in a phone column, imported and
//! exported; an invalid number changes nothing.

mod common;

use common::process::{text, Relay};

fn relay() -> (Relay, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[phones]\ndefault_country = \"FR\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("config");
    let relay = Relay::start_with_config(&config, &dir.path().join("data"));
    (relay, dir)
}

fn run(relay: &Relay, args: &[&str]) -> (i32, String, String) {
    let out = relay.cli(args);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn a_number_said_stop_on_the_phone_is_found_in_every_spelling_and_by_scrub() {
    let (relay, dir) = relay();
    let (code, out, err) = run(
        &relay,
        &[
            "suppress",
            "add",
            "+33 6 12 34 56 78",
            "--reason",
            "unsubscribe",
            "--source",
            "call",
            "--evidence",
            "said stop on a call",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+33612345678"), "{out}");
    // A national spelling is read in [phones] default_country.
    let (code, out, _) = run(&relay, &["check", "06.12.34.56.78"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("+33612345678: blocked"), "{out}");
    assert!(out.contains("rule phone"), "{out}");
    let (code, _, _) = run(&relay, &["check", "+33 6 99 88 77 66"]);
    assert_eq!(code, 0);
    // Not a valid number: refused, nothing added.
    let (code, _, err) = run(
        &relay,
        &["suppress", "add", "+33 1", "--reason", "unsubscribe"],
    );
    assert_eq!(code, 2, "{err}");

    // A call list with an email and a phone column: a listed number refuses its row.
    let leads = dir.path().join("leads.csv");
    std::fs::write(
        &leads,
        "name,email,phone\n\
         Ann,ann@example.com,06 12 34 56 78\n\
         Bob,bob@example.com,06 99 88 77 66\n\
         Cy,cy@example.com,\n",
    )
    .expect("write");
    let (code, out, err) = run(&relay, &["scrub", leads.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(
        rows[1].ends_with(",suppressed,unsubscribe (phone)"),
        "{out}"
    );
    assert!(rows[2].ends_with(",ok,"), "{out}");
    assert!(rows[3].ends_with(",ok,"), "{out}");

    // A number that cannot be read does not pass; a "Work Email" column is not silently
    // replaced by the phone column.
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "name,email,phone\nDee,dee@example.com,12345\n").expect("write");
    let (_, out, _) = run(&relay, &["scrub", odd.to_str().expect("path")]);
    assert!(
        out.lines().nth(1).unwrap_or("").contains(",invalid,phone:"),
        "{out}"
    );
    let work = dir.path().join("work.csv");
    std::fs::write(
        &work,
        "Name,Work Email,Phone\nAnn,ann@example.com,0612345678\n",
    )
    .expect("write");
    let (code, _, err) = run(&relay, &["scrub", work.to_str().expect("path")]);
    assert_eq!(code, 2, "{err}");

    // A dialer's list of numbers only imports, and exports in E.164.
    let numbers = dir.path().join("numbers.csv");
    std::fs::write(&numbers, "phone\n06 11 22 33 44\n+32 470 12 34 56\n").expect("write");
    let (code, _, err) = run(
        &relay,
        &[
            "import",
            numbers.to_str().expect("path"),
            "--reason",
            "not-interested",
            "--source",
            "call",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(&relay, &["check", "0611223344"]);
    assert_eq!(code, 1);
    let (_, exported, _) = run(&relay, &["export"]);
    for n in ["+33612345678", "+33611223344", "+32470123456"] {
        assert!(exported.contains(n), "{n} not in {exported}");
    }
    relay.sigterm();
}
