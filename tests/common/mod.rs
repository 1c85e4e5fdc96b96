//! Shared test fixtures: a scriptable upstream SMTP server, a relay started on port 0 with a
//! temporary data directory, and a raw SMTP client that reads replies line by line.

#![allow(dead_code)]

pub mod postgres;
pub mod process;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dnc_relay::audit::DecisionRecord;
use dnc_relay::config::Config;
use dnc_relay::server::{Hooks, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// One transaction as the upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// MAIL FROM line argument, as received (`<a@b> BODY=8BITMIME`).
    pub mail_from: String,
    /// Recipients the upstream accepted, as received (without brackets).
    pub rcpts: Vec<String>,
    /// The message after removing dot stuffing: what a real MTA would store.
    pub data: Vec<u8>,
    /// Whether the transaction ran over TLS.
    pub encrypted: bool,
}

/// How the test upstream misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Recipients refused with `550 5.1.1`.
    pub refuse: HashSet<String>,
    /// Recipients refused with `450 4.2.0`.
    pub defer: HashSet<String>,
    /// Greet with `421` and close.
    pub greet_421: bool,
    /// After the final dot, never answer.
    pub hang_after_data: bool,
    /// Close the connection after this many bytes of message data.
    pub drop_mid_data: Option<usize>,
    /// Do not offer SMTPUTF8.
    pub no_smtputf8: bool,
    /// Speak TLS (implicit, or STARTTLS when asked).
    pub tls: Option<TestTls>,
    /// Offer CHUNKING and accept BDAT.
    pub chunking: bool,
    /// Do not offer PIPELINING.
    pub no_pipelining: bool,
    /// Refuse MAIL FROM with `550 5.7.1`.
    pub refuse_mail: bool,
}

/// A scriptable upstream MTA on 127.0.0.1, recording what it accepted.
#[derive(Clone)]
pub struct TestUpstream {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub connections: Arc<Mutex<usize>>,
    pub script: Arc<Mutex<Script>>,
    /// STARTTLS handshakes completed.
    pub encrypted: Arc<Mutex<usize>>,
    /// BDAT chunks of the transaction in progress.
    chunks: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TestUpstream {
    pub async fn start(script: Script) -> TestUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = TestUpstream {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            connections: Arc::default(),
            script: Arc::new(Mutex::new(script)),
            encrypted: Arc::default(),
            chunks: Arc::default(),
        };
        let u = upstream.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *u.connections.lock().unwrap() += 1;
                let u = u.clone();
                tokio::spawn(async move {
                    let _ = u.serve(stream).await;
                });
            }
        });
        upstream
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let script = self.script.lock().unwrap().clone();
        match &script.tls {
            Some(TestTls {
                mode: TlsMode::Implicit,
                config,
            }) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
                let tls = acceptor.accept(stream).await?;
                self.converse(BufReader::new(Box::new(tls)), &script, true, true)
                    .await
            }
            _ => {
                self.converse(BufReader::new(Box::new(stream)), &script, true, false)
                    .await
            }
        }
    }

    /// One SMTP conversation. With `greet`, send the banner first (not after STARTTLS).
    async fn converse(
        &self,
        mut io: BufReader<Box<dyn Io>>,
        script: &Script,
        greet: bool,
        encrypted: bool,
    ) -> std::io::Result<()> {
        if script.greet_421 {
            io.write_all(b"421 4.3.2 busy\r\n").await?;
            return Ok(());
        }
        if greet {
            io.write_all(b"220 upstream.test ESMTP\r\n").await?;
        }
        let offer_starttls = matches!(
            &script.tls,
            Some(TestTls {
                mode: TlsMode::StartTls,
                ..
            })
        ) && !encrypted;
        let mut mail_from = String::new();
        let mut rcpts = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if io.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                let mut ext =
                    String::from("250-upstream.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n");
                if !script.no_smtputf8 {
                    ext.push_str("250-SMTPUTF8\r\n");
                }
                if offer_starttls {
                    ext.push_str("250-STARTTLS\r\n");
                }
                ext.push_str("250 ENHANCEDSTATUSCODES\r\n");
                io.write_all(ext.as_bytes()).await?;
            } else if upper == "STARTTLS" && offer_starttls {
                io.write_all(b"220 2.0.0 ready to start TLS\r\n").await?;
                let Some(TestTls { config, .. }) = &script.tls else {
                    unreachable!()
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
                let tls = acceptor.accept(io.into_inner()).await?;
                *self.encrypted.lock().unwrap() += 1;
                return Box::pin(self.converse(BufReader::new(Box::new(tls)), script, false, true))
                    .await;
            } else if upper.starts_with("MAIL FROM:") {
                if script.refuse_mail {
                    io.write_all(b"550 5.7.1 sender rejected\r\n").await?;
                    continue;
                }
                mail_from = cmd[10..].to_string();
                rcpts.clear();
                io.write_all(b"250 2.1.0 Ok\r\n").await?;
            } else if upper.starts_with("BDAT ") && script.chunking {
                let mut parts = cmd.split_whitespace().skip(1);
                let size: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let last = parts.next().is_some_and(|p| p.eq_ignore_ascii_case("LAST"));
                let mut chunk = vec![0u8; size];
                io.read_exact(&mut chunk).await?;
                self.chunks.lock().unwrap().push(chunk.clone());
                if last {
                    let data = self.chunks.lock().unwrap().drain(..).flatten().collect();
                    self.received.lock().unwrap().push(Received {
                        mail_from: mail_from.clone(),
                        rcpts: std::mem::take(&mut rcpts),
                        data,
                        encrypted,
                    });
                    io.write_all(b"250 2.0.0 Ok: queued as BDAT123\r\n").await?;
                } else {
                    io.write_all(b"250 2.0.0 chunk Ok\r\n").await?;
                }
            } else if upper.starts_with("RCPT TO:") {
                let rcpt = cmd[8..].trim_matches(|c| c == '<' || c == '>').to_string();
                if script.refuse.contains(&rcpt) {
                    io.write_all(b"550 5.1.1 <x>: Recipient address rejected: User unknown\r\n")
                        .await?;
                } else if script.defer.contains(&rcpt) {
                    io.write_all(b"450 4.2.0 mailbox busy\r\n").await?;
                } else {
                    rcpts.push(rcpt);
                    io.write_all(b"250 2.1.5 Ok\r\n").await?;
                }
            } else if upper == "DATA" {
                io.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                let mut raw = 0usize;
                loop {
                    let mut l = Vec::new();
                    if io.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(());
                    }
                    raw += l.len();
                    if let Some(limit) = script.drop_mid_data {
                        if raw >= limit {
                            return Ok(());
                        }
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    if l.starts_with(b"..") {
                        l.remove(0);
                    }
                    data.extend_from_slice(&l);
                }
                if script.hang_after_data {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                self.received.lock().unwrap().push(Received {
                    mail_from: mail_from.clone(),
                    rcpts: std::mem::take(&mut rcpts),
                    data,
                    encrypted,
                });
                io.write_all(b"250 2.0.0 Ok: queued as TEST123\r\n").await?;
            } else if upper == "RSET" {
                rcpts.clear();
                io.write_all(b"250 2.0.0 Ok\r\n").await?;
            } else if upper == "QUIT" {
                io.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            } else if upper == "NOOP" {
                io.write_all(b"250 2.0.0 Ok\r\n").await?;
            } else {
                io.write_all(b"502 5.5.2 unknown\r\n").await?;
            }
        }
    }
}

/// A byte stream the test upstream can talk over: plain TCP or TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// How the test upstream uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (smtps).
    Implicit,
    /// STARTTLS offered in EHLO.
    StartTls,
}

/// TLS settings of the test upstream.
#[derive(Clone)]
pub struct TestTls {
    pub mode: TlsMode,
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TestTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestTls({:?})", self.mode)
    }
}

/// A throw-away CA and a server certificate for `localhost` / 127.0.0.1, made at run time.
pub struct TestPki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
    /// The server certificate chain (leaf, CA) as PEM.
    pub chain_pem: String,
    /// The server key as PEM (a test key, generated now, never committed).
    pub key_pem: String,
    /// A client config that trusts the CA.
    pub client: Arc<rustls::ClientConfig>,
}

impl TestPki {
    pub fn new() -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "dnc-relay test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TestPki {
            chain_pem: format!("{}{}", leaf.pem(), ca.pem()),
            key_pem: leaf_key.serialize_pem(),
            ca_pem: ca.pem(),
            server: Arc::new(server),
            client: Arc::new(client),
        }
    }
}

/// A relay running in this process on 127.0.0.1:0 with its own data directory.
pub struct TestRelay {
    pub server: Server,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start(upstream: &str, tweak: impl FnOnce(&mut Config)) -> TestRelay {
        TestRelay::start_with(upstream, tweak, Hooks::default()).await
    }

    pub async fn start_with(
        upstream: &str,
        tweak: impl FnOnce(&mut Config),
        hooks: Hooks,
    ) -> TestRelay {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path(), upstream);
        tweak(&mut config);
        let server = Server::start(config, hooks).await.unwrap();
        let addr = server.smtp_addrs()[0];
        TestRelay { server, addr, dir }
    }

    pub fn socket(&self) -> PathBuf {
        self.server.socket_path()
    }

    /// Every decision log line so far, once the writer has caught up with `want` lines.
    pub async fn decisions(&self, want: usize) -> Vec<DecisionRecord> {
        read_decisions(&self.dir.path().join("decisions.jsonl"), want).await
    }

    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown().await.unwrap();
        self.dir
    }
}

/// A config for tests: port 0, everything under `dir`, short timeouts.
pub fn test_config(dir: &Path, upstream: &str) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.server.listen = vec!["127.0.0.1:0".parse().unwrap()];
    config.server.hostname = "relay.test".into();
    config.server.shutdown_grace = Duration::from_secs(5);
    config.upstream.url = upstream.parse().unwrap();
    config.upstream.connect_timeout = Duration::from_secs(2);
    config.upstream.command_timeout = Duration::from_secs(2);
    config.upstream.data_timeout = Duration::from_secs(2);
    config
}

/// Reads the decision log, waiting (bounded) until it holds at least `want` lines: the log is
/// written by its own thread, so a line can trail the reply by a moment.
pub async fn read_decisions(path: &Path, want: usize) -> Vec<DecisionRecord> {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let records: Vec<DecisionRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("decision log line is a DecisionRecord"))
            .collect();
        if records.len() >= want {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("decision log never reached {want} lines");
}

/// A raw SMTP client that writes exactly the bytes given and reads whole replies.
pub struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    /// Connects and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> (Client, String) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (r, w) = stream.into_split();
        let mut client = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// One whole transaction to `to` (`from` may be empty for `<>`); the reply to the data.
    pub async fn deliver(addr: SocketAddr, from: &str, to: &str, data: &str) -> String {
        let mut c = Client::ready(addr, from).await;
        c.expect(&format!("RCPT TO:<{to}>\r\n"), "250").await;
        c.expect("DATA\r\n", "354").await;
        c.send(&format!("{data}.\r\n")).await;
        let reply = c.reply().await;
        c.send("QUIT\r\n").await;
        reply
    }

    /// Connects, reads the greeting and says EHLO and MAIL FROM.
    pub async fn ready(addr: SocketAddr, from: &str) -> Client {
        let (mut c, greeting) = Client::connect(addr).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        c.expect("EHLO client.test\r\n", "250").await;
        c.expect(&format!("MAIL FROM:<{from}>\r\n"), "250 2.1.0")
            .await;
        c
    }

    /// A client over a stream already connected; the greeting is not read.
    pub fn from_stream(stream: TcpStream) -> Client {
        let (r, w) = stream.into_split();
        Client {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    /// Writes bytes; an error (the relay closed the connection) is returned, not a panic.
    pub async fn try_send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes).await
    }

    pub async fn send(&mut self, bytes: &str) {
        self.send_bytes(bytes.as_bytes()).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// One whole reply (all lines of a multi-line one), CRLFs kept.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("reply within 10 s")
                .unwrap();
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    /// Sends a command and asserts the reply starts with `prefix`; returns the reply.
    pub async fn expect(&mut self, command: &str, prefix: &str) -> String {
        self.send(command).await;
        let reply = self.reply().await;
        assert!(
            reply.starts_with(prefix),
            "after {command:?} expected {prefix:?}, got {reply:?}"
        );
        reply
    }

    /// Reads until the server closes; returns what came.
    pub async fn read_to_end(&mut self) -> String {
        let mut rest = String::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            self.reader.read_to_string(&mut rest),
        )
        .await;
        rest
    }
}

/// The relay binary built by cargo for integration tests, or `$DNC_RELAY_BIN` (to run the
/// black-box tests against another build, such as the one before a fix).
pub fn binary() -> PathBuf {
    std::env::var_os("DNC_RELAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dnc-relay")))
}

/// The `kind` of each event, as the JSON history shows it (`suppressed`, `lock-taken`, ...).
#[allow(dead_code)]
pub fn event_kinds(history: &[dnc_relay::model::Event]) -> Vec<String> {
    history
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}
