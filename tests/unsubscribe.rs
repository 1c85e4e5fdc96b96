//! One-click unsubscribe as a recipient and a mailbox provider meet it: the built relay marks
//! what a `list_unsubscribe` sender group sends, the link's GET changes nothing, its POST
//! suppresses, a forged token gets 400, and the `mailto:` form works through the feedback
//! listener.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::process::{free_port, Relay, Smtp};

/// A relay with a marked sender group, the unsubscribe endpoint and the feedback listener.
struct Setup {
    relay: Relay,
    http: SocketAddr,
    feedback: SocketAddr,
    dir: tempfile::TempDir,
}

impl Setup {
    fn start() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let (http, feedback) = (free_port(), free_port());
        let config = dir.path().join("relay.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\n\
                 [feedback]\nlisten = [\"127.0.0.1:{feedback}\"]\ndomains = [\"fb.example.com\"]\n\
                 [unsubscribe]\nlisten = [\"127.0.0.1:{http}\"]\nbase_url = \"http://127.0.0.1:{http}/\"\n\
                 [[sender_groups]]\nname = \"prospecting\"\nunit = \"acme\"\nsenders = [\"@sales.example\"]\nlist_unsubscribe = true\n",
                dir.path().join("data").display().to_string()
            ),
        )
        .expect("config");
        let relay = Relay::start_with_config(&config, &dir.path().join("data"));
        Setup {
            relay,
            http: format!("127.0.0.1:{http}").parse().expect("addr"),
            feedback: format!("127.0.0.1:{feedback}").parse().expect("addr"),
            dir,
        }
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("data/outbox")
    }

    /// The messages the capture upstream holds, oldest first.
    fn captured(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.outbox())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect()
    }
}

/// Sends `message` from `from` to `to` through the relay with lettre; the reply code.
fn send(addr: SocketAddr, from: &str, to: &str, message: &str) -> u16 {
    use lettre::address::Envelope;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(addr.port())
            .build();
        let envelope = Envelope::new(
            Some(from.parse().expect("from")),
            vec![to.parse().expect("to")],
        )
        .expect("envelope");
        match transport.send_raw(&envelope, message.as_bytes()).await {
            Ok(r) => u16::from(r.code()),
            Err(e) => e.status().map(u16::from).unwrap_or(0),
        }
    })
}

/// One HTTP/1.1 request; the status, the header block and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Language: fr-FR,fr;q=0.9\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The path of the link and the `mailto:` address in a captured message's List-Unsubscribe.
fn link_and_mailto(message: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(message);
    let link = text
        .split("/u/")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .expect("a link");
    let mailto = text
        .split("<mailto:")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .expect("a mailto");
    (format!("/u/{link}"), mailto.to_string())
}

fn within_seconds(check: impl Fn() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

const MESSAGE: &str = "From: Rep <rep@sales.example>\r\n\
                       To: Pat <pat@example.com>\r\n\
                       Subject: Quick question\r\n\
                       Message-ID: <q1@sales.example>\r\n\
                       \r\n\
                       Hi Pat,\r\n\
                       .a line with a leading dot\r\n\
                       Sam\r\n";

#[test]
fn a_marked_message_carries_a_link_whose_post_suppresses_and_whose_get_does_not() {
    let s = Setup::start();
    let rcpt = |to: &str| Smtp::rcpt_reply(s.relay.addr, to);
    assert_eq!(
        send(
            s.relay.addr,
            "rep@sales.example",
            "pat@example.com",
            MESSAGE
        ),
        250
    );
    let captured = s.captured();
    assert_eq!(captured.len(), 1);
    let got = String::from_utf8_lossy(&captured[0]).into_owned();
    assert!(
        got.starts_with("List-Unsubscribe: <http://127.0.0.1:"),
        "{got}"
    );
    assert!(
        !got.contains("pat@example.com>,"),
        "no address in clear in the link"
    );
    // The two header fields at the top, then the message byte for byte.
    let (added, rest) = got
        .split_once("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        .expect("the one-click field");
    assert_eq!(
        rest,
        format!("{MESSAGE}\r\n"),
        "lettre ends the data with CRLF"
    );
    assert!(added.contains("<mailto:unsubscribe+"), "{added}");
    let (link, mailto) = link_and_mailto(&captured[0]);
    assert!(
        mailto.ends_with("@fb.example.com")
            && mailto.split('@').next().is_some_and(|l| l.len() <= 64)
    );

    // A link scanner's GET: a page with one button, nothing changes.
    let (status, head, body) = http(s.http, "GET", &link, "");
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("<form method=\"post\""), "{body}");
    assert!(body.contains("lang=\"fr\""), "Accept-Language: fr");
    assert!(!head.to_ascii_lowercase().contains("set-cookie"));
    assert!(rcpt("pat@example.com").starts_with("250"));

    // Forged or altered tokens: 400, the same page.
    let mut altered = link.clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).expect("ascii");
    for path in [
        altered.as_str(),
        "/u/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "/u/x",
    ] {
        assert_eq!(http(s.http, "GET", path, "").0, 400, "{path}");
        assert_eq!(
            http(s.http, "POST", path, "List-Unsubscribe=One-Click").0,
            400,
            "{path}"
        );
    }
    // Other methods: 405, nothing changes.
    let (status, head, _) = http(s.http, "PUT", &link, "List-Unsubscribe=One-Click");
    assert_eq!(status, 405, "{head}");
    assert!(
        head.contains("allow: GET, HEAD, POST") || head.contains("Allow: GET, HEAD, POST"),
        "{head}"
    );
    // A POST without the one-click body is not an unsubscribe.
    assert_eq!(http(s.http, "POST", &link, "").0, 400);
    assert!(rcpt("pat@example.com").starts_with("250"));

    // The mailbox provider's one-click POST: 200, no redirect, no cookie; in force at once.
    let (status, head, _) = http(s.http, "POST", &link, "List-Unsubscribe=One-Click");
    assert_eq!(status, 200, "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        !lower.contains("set-cookie") && !lower.contains("location:"),
        "{head}"
    );
    let reply = rcpt("pat@example.com");
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    let shown = s
        .relay
        .cli(&["suppress", "show", "pat@example.com", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["entry"]["source"], "link");
    assert_eq!(shown["entry"]["reason"], "unsubscribe");
    assert_eq!(shown["entry"]["units"], serde_json::json!([]), "scope all");
}

#[test]
fn one_recipient_per_transaction_a_message_with_its_own_header_is_left_alone_and_mailto_works() {
    let s = Setup::start();
    // A second recipient in the same transaction: 452, the client sends it again alone.
    let mut c = Smtp::connect(s.relay.addr);
    c.cmd("EHLO t\r\n");
    assert!(c
        .cmd("MAIL FROM:<rep@sales.example>\r\n")
        .starts_with("250"));
    assert!(c.cmd("RCPT TO:<lee@example.com>\r\n").starts_with("250"));
    let second = c.cmd("RCPT TO:<kim@example.com>\r\n");
    assert!(second.starts_with("452 4.5.3"), "{second}");
    c.cmd("QUIT\r\n");
    // Other senders are not marked and keep many recipients.
    let mut c = Smtp::connect(s.relay.addr);
    c.cmd("EHLO t\r\n");
    c.cmd("MAIL FROM:<ops@elsewhere.example>\r\n");
    assert!(c.cmd("RCPT TO:<a@example.com>\r\n").starts_with("250"));
    assert!(c.cmd("RCPT TO:<b@example.com>\r\n").starts_with("250"));
    c.cmd("QUIT\r\n");

    // A message that has a List-Unsubscribe of its own passes unchanged, and the log says so.
    let own = format!("List-Unsubscribe: <mailto:leave@sales.example>\r\n{MESSAGE}");
    assert_eq!(
        send(s.relay.addr, "rep@sales.example", "kim@example.com", &own),
        250
    );
    assert_eq!(
        s.captured()
            .last()
            .map(|m| String::from_utf8_lossy(m).into_owned()),
        Some(format!("{own}\r\n"))
    );
    // The decision log is written by its own thread: a line can trail the reply.
    let logged = |line: &str| {
        within_seconds(|| {
            std::fs::read_to_string(s.dir.path().join("data/decisions.jsonl"))
                .is_ok_and(|log| log.contains(line))
        })
    };
    assert!(logged(
        "\"marked\":\"list-unsubscribe kept: the message had one\""
    ));

    // The mailto form, sent by the recipient's own mailbox to the feedback listener.
    assert_eq!(
        send(
            s.relay.addr,
            "rep@sales.example",
            "lee@example.com",
            MESSAGE
        ),
        250
    );
    let captured = s.captured();
    let (_, mailto) = link_and_mailto(captured.last().expect("captured"));
    assert!(logged("\"marked\":\"list-unsubscribe added\""));
    // Someone else cannot use Lee's token.
    let forged = "From: Mallory <kim@example.com>\r\nTo: x\r\nSubject: unsubscribe\r\n\r\n\r\n";
    assert_eq!(send(s.feedback, "kim@example.com", &mailto, forged), 250);
    let real = "From: Lee <lee@example.com>\r\nTo: x\r\nSubject: unsubscribe\r\n\r\n\r\n";
    assert_eq!(send(s.feedback, "lee@example.com", &mailto, real), 250);
    let rcpt = |to: &str| Smtp::rcpt_reply(s.relay.addr, to);
    assert!(within_seconds(
        || rcpt("lee@example.com").starts_with("550 5.7.1")
    ));
    let shown = s
        .relay
        .cli(&["suppress", "show", "lee@example.com", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["entry"]["source"], "link", "{shown}");
    assert_eq!(shown["entry"]["actor"]["user"], "unsubscribe mail");
    // Kim's mail with Lee's token is read as an ordinary reply: it asks for Kim (source reply),
    // never for Lee.
    let kim = s
        .relay
        .cli(&["suppress", "show", "kim@example.com", "--json"]);
    let kim: serde_json::Value = serde_json::from_slice(&kim.stdout).expect("json");
    assert_eq!(kim["entry"]["source"], "reply", "{kim}");
}

#[test]
fn a_client_that_never_finishes_its_request_is_cut_off() {
    let s = Setup::start();
    let mut stream = TcpStream::connect(s.http).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    // Headers that never end (slowloris): the endpoint closes the connection.
    stream
        .write_all(b"GET /u/abc HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(read.is_ok(), "closed, not timed out on our side: {read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
