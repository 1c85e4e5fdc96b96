//! The web console in a real browser (Debian's chromium, driven through chromedriver with
//! fantoccini): log in, search a suppressed address and read its timeline, add one, a manager
//! requests a lift and cannot approve it, an ops user approves it, the next RCPT on the wire
//! passes, and the charts render with data. Screenshots of the main pages are saved under
//! `target/console-screenshots/`.
//!
//! Without chromium and chromedriver the test prints SKIPPED and passes, except under
//! `.ci/run` (`DNC_RELAY_CI` set), where a missing browser is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Client, Script, TestRelay, TestUpstream};
use dnc_relay::admin::ops::suppress::SuppressAdd;
use dnc_relay::admin::AdminClient;
use dnc_relay::config::{Config, ConsoleUser, SenderGroup};
use dnc_relay::model::{Reason, Role, Source};
use fantoccini::{Client as Browser, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser's driver, or `None` (with the reason printed) when this machine has none.
async fn driver() -> Option<Driver> {
    let missing = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|p| !Path::new(p).exists());
    if let Some(path) = missing {
        let why = format!("{path} is missing (Debian: apt-get install chromium chromium-driver)");
        if std::env::var_os("DNC_RELAY_CI").is_some() {
            panic!("{why}; .ci/run must install it");
        }
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not listen on {port}");
}

async fn browser(driver: &Driver) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-US"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn user(name: &str, password: &str, role: Role) -> ConsoleUser {
    ConsoleUser {
        name: name.into(),
        password_hash: dnc_relay::access::hash_password(password.as_bytes()).unwrap(),
        role,
    }
}

fn console(config: &mut Config) {
    config.http.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.console.users = vec![
        user("max", "max-password", Role::Manager),
        user("olga", "olga-password", Role::Ops),
    ];
    config.sender_groups = vec![SenderGroup {
        name: "sales".into(),
        senders: vec!["@sales.example".into()],
        ..SenderGroup::default()
    }];
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("console-screenshots"))
        .unwrap_or_else(|| PathBuf::from("console-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(b: &Browser, name: &str) {
    let png = b.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

async fn login(b: &Browser, base: &str, name: &str, password: &str) {
    b.goto(&format!("{base}/login")).await.unwrap();
    b.find(Locator::Id("user"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    press(b, Locator::Id("login")).await;
    let who = b
        .wait()
        .for_element(Locator::Css("header .who"))
        .await
        .unwrap();
    assert!(who.text().await.unwrap().starts_with(name));
}

async fn logout(b: &Browser) {
    press(b, Locator::Css("header form button")).await;
    b.wait().for_element(Locator::Id("login")).await.unwrap();
}

async fn search(b: &Browser, base: &str, q: &str) {
    b.goto(&format!("{base}/")).await.unwrap();
    b.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys(q)
        .await
        .unwrap();
    press(b, Locator::Id("search")).await;
    b.wait().for_element(Locator::Id("verdict")).await.unwrap();
}

/// Clicks what `at` finds and waits until the browser has left the page.
async fn press(b: &Browser, at: Locator<'_>) {
    let old = b.find(Locator::Css("html")).await.unwrap();
    b.find(at).await.unwrap().click().await.unwrap();
    loaded(old).await;
}

/// Waits until `old` (an element of the page before) is gone: the next page is there.
async fn loaded(old: fantoccini::elements::Element) {
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the page did not change");
}

async fn notice(b: &Browser) -> String {
    b.wait()
        .for_element(Locator::Id("notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn rcpt(relay: &TestRelay, to: &str) -> String {
    let mut c = Client::ready(relay.addr, "sam@sales.example").await;
    c.send(&format!("RCPT TO:<{to}>\r\n")).await;
    let reply = c.reply().await;
    c.send("QUIT\r\n").await;
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_and_managers_work_the_list_in_a_real_browser() {
    let Some(driver) = driver().await else {
        return;
    };
    let upstream = TestUpstream::start(Script::default()).await;
    let relay = TestRelay::start(&upstream.url(), console).await;
    let base = format!("http://{}", relay.server.http_addrs()[0]);
    let mut admin = AdminClient::connect(&relay.socket()).unwrap();
    admin
        .call(SuppressAdd {
            target: "bob@example.com".into(),
            reason: Reason::Unsubscribe,
            source: Some(Source::Reply),
            evidence: Some("Bob replied: please stop emailing me".into()),
            units: Default::default(),
        })
        .unwrap();
    // Mail on the wire, for the timeline and the charts.
    assert!(rcpt(&relay, "bob@example.com")
        .await
        .starts_with("550 5.7.1"));
    let sent = Client::deliver(
        relay.addr,
        "sam@sales.example",
        "ann@example.com",
        "Subject: hi\r\n\r\nhello\r\n",
    )
    .await;
    assert!(sent.starts_with("250"), "{sent}");
    relay.decisions(2).await;

    let b = browser(&driver).await;
    // A wrong password is refused; the right one signs in.
    b.goto(&format!("{base}/login")).await.unwrap();
    b.find(Locator::Id("user"))
        .await
        .unwrap()
        .send_keys("max")
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("nope")
        .await
        .unwrap();
    press(&b, Locator::Id("login")).await;
    assert!(b
        .wait()
        .for_element(Locator::Css(".notice.err"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Wrong"));
    login(&b, &base, "max", "max-password").await;
    shot(&b, "home").await;

    // Search: the verdict and the whole story.
    search(&b, &base, "bob@example.com").await;
    let verdict = b
        .find(Locator::Id("verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(verdict, "blocked");
    let timeline = b
        .find(Locator::Id("timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        timeline.contains("added bob@example.com (unsubscribe, reply)"),
        "{timeline}"
    );
    assert!(
        timeline.contains("refused send to bob@example.com from sam@sales.example"),
        "{timeline}"
    );
    assert!(
        !b.current_url().await.unwrap().as_str().contains("bob"),
        "no address in the URL"
    );
    shot(&b, "search").await;

    // Add: evidence required; the next RCPT is refused.
    b.goto(&format!("{base}/add")).await.unwrap();
    b.find(Locator::Id("target"))
        .await
        .unwrap()
        .send_keys("carol@example.com")
        .await
        .unwrap();
    b.find(Locator::Id("reason"))
        .await
        .unwrap()
        .select_by_value("complaint")
        .await
        .unwrap();
    b.find(Locator::Id("evidence"))
        .await
        .unwrap()
        .send_keys("Complained on the phone, ticket 881")
        .await
        .unwrap();
    press(&b, Locator::Id("add")).await;
    assert!(notice(&b)
        .await
        .contains("carol@example.com is on the list"));
    assert!(rcpt(&relay, "carol@example.com")
        .await
        .starts_with("550 5.7.1"));

    // A manager requests a lift, and cannot approve it.
    search(&b, &base, "bob@example.com").await;
    let form = b
        .form(Locator::Css("form[action='/lifts/request']"))
        .await
        .unwrap();
    form.set_by_name(
        "proof",
        "Bob wrote on 2026-11-29 asking to hear about the new plan",
    )
    .await
    .unwrap();
    let old = b.find(Locator::Css("html")).await.unwrap();
    form.submit().await.unwrap();
    loaded(old).await;
    assert!(notice(&b).await.contains("requested"));
    press(
        &b,
        Locator::Css("#pending form[action='/lifts/approve'] button"),
    )
    .await;
    let refused = notice(&b).await;
    assert!(refused.contains("needs the ops role"), "{refused}");
    assert!(rcpt(&relay, "bob@example.com")
        .await
        .starts_with("550 5.7.1"));
    logout(&b).await;

    // An ops user approves it with the proof in front of her; the next RCPT passes.
    login(&b, &base, "olga", "olga-password").await;
    b.goto(&format!("{base}/lifts")).await.unwrap();
    let pending = b
        .find(Locator::Id("pending"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        pending.contains("asking to hear about the new plan"),
        "{pending}"
    );
    shot(&b, "lifts").await;
    press(
        &b,
        Locator::Css("#pending form[action='/lifts/approve'] button"),
    )
    .await;
    assert!(notice(&b).await.contains("approved"));
    assert!(rcpt(&relay, "bob@example.com").await.starts_with("250"));
    let history = admin
        .call(dnc_relay::admin::ops::suppress::SuppressShow {
            target: "bob@example.com".into(),
        })
        .unwrap()
        .history;
    assert!(
        history.iter().any(|e| e.actor.user == "console:olga"),
        "the approval is on the record as console:olga"
    );

    // The charts draw what happened.
    b.goto(&format!("{base}/charts")).await.unwrap();
    let chart = b
        .wait()
        .for_element(Locator::Id("refusals-by-reason"))
        .await
        .unwrap();
    let svg = chart.html(false).await.unwrap();
    assert!(svg.contains("unsubscribe"), "{svg}");
    assert!(svg.matches("<rect").count() >= 2, "a bar and its legend");
    shot(&b, "charts").await;
    b.goto(&format!("{base}/reviews")).await.unwrap();
    b.wait().for_element(Locator::Id("feedback")).await.unwrap();
    b.goto(&format!("{base}/audit")).await.unwrap();
    let violations = b
        .wait()
        .for_element(Locator::Id("violations"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(violations, "0");
    shot(&b, "audit").await;
    b.close().await.unwrap();
    relay.stop().await;
}
