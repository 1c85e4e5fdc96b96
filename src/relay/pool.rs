//! Upstream SMTP connections: a bounded pool of idle connections, the transaction steps, and
//! a timeout on every one of them.
//!
//! A connection whose step timed out or broke is never put back: its state is unknown. A
//! pooled connection found dead at MAIL is replaced once, which is safe because nothing has
//! been committed before MAIL.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client::{Dial, SmtpClient, Stuffer};
use super::{Failure, MailParams, Outcome, SetupError, Stage, UpstreamReply};
use crate::address::smtp_path;
use crate::config::{Config, UpstreamTls};
use crate::spool::{Content, FileReader, FILE_CHUNK};

/// Everything needed to open upstream connections.
#[derive(Clone)]
pub struct UpstreamSettings {
    host: String,
    port: u16,
    tls: UpstreamTls,
    hello: String,
    max_connections: usize,
    max_per_client: usize,
    connect_timeout: Duration,
    command_timeout: Duration,
    data_timeout: Duration,
    idle_timeout: Duration,
    connector: tokio_rustls::TlsConnector,
}

impl fmt::Debug for UpstreamSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl UpstreamSettings {
    /// Builds the settings, loading TLS roots (system store plus `upstream.ca_file`).
    pub fn from_config(
        config: &Config,
        host: &str,
        port: u16,
        tls: UpstreamTls,
    ) -> Result<UpstreamSettings, SetupError> {
        let u = &config.upstream;
        Ok(UpstreamSettings {
            host: host.to_string(),
            port,
            tls,
            hello: config.upstream_hello_name().to_string(),
            max_connections: u.max_connections,
            max_per_client: u.max_connections_per_client,
            connect_timeout: u.connect_timeout,
            command_timeout: u.command_timeout,
            data_timeout: u.data_timeout,
            idle_timeout: u.idle_timeout,
            connector: tls_connector(u.ca_file.as_deref())?,
        })
    }

    fn dial(&self) -> Dial<'_> {
        Dial {
            host: &self.host,
            port: self.port,
            hello: &self.hello,
            implicit_tls: self.tls == UpstreamTls::Implicit,
            starttls: self.tls == UpstreamTls::StartTls,
            tls: &self.connector,
            connect_timeout: self.connect_timeout,
            command_timeout: self.command_timeout,
        }
    }
}

/// rustls with ring, TLS 1.2+, the system roots plus the configured CA file.
fn tls_connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, SetupError> {
    let config = client_tls_config(ca_file, "upstream.ca_file")?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A TLS client configuration: rustls with ring, TLS 1.2+, the system roots plus the CA file
/// (named `key` in errors).
pub fn client_tls_config(
    ca_file: Option<&Path>,
    key: &str,
) -> Result<rustls::ClientConfig, SetupError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let shown = path.display();
        let pem = std::fs::read(path)
            .map_err(|e| SetupError(format!("cannot read {key} {shown}: {e}")))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| SetupError(format!("{shown}: bad PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SetupError(format!("{shown}: bad CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(SetupError(format!("{shown}: no certificate found")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SetupError(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// An idle connection and when it was last used.
struct Idle {
    client: SmtpClient,
    since: Instant,
}

/// The pool: busy connections hold a semaphore permit; idle ones wait in a list. Busy plus
/// idle never exceeds `max_connections`. A busy connection also holds a permit of its
/// client's share (`max_per_client`), so that one client holding transactions open cannot
/// take every connection from everyone else.
pub(super) struct Pool {
    settings: UpstreamSettings,
    busy: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    shares: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .field("idle", &self.idle_count())
            .finish()
    }
}

/// A busy upstream connection, inside one transaction.
pub(super) struct Conn {
    client: SmtpClient,
    command_timeout: Duration,
    /// Reused write buffer.
    out: Vec<u8>,
    /// Counts this connection as busy until it is dropped or released.
    permit: OwnedSemaphorePermit,
    /// Counts it in its client's share, likewise.
    share: OwnedSemaphorePermit,
}

impl Pool {
    /// Creates the pool and a task that closes connections idle for too long.
    pub(super) fn start(settings: UpstreamSettings) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            busy: Arc::new(Semaphore::new(settings.max_connections)),
            idle: Mutex::new(Vec::new()),
            shares: Mutex::new(HashMap::new()),
            settings,
        });
        let period = (pool.settings.idle_timeout / 2).max(Duration::from_millis(500));
        tokio::spawn(reap_idle(Arc::downgrade(&pool), period));
        pool
    }

    pub(super) fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Takes a connection (pooled or new) and sends MAIL FROM and the first RCPT, in one
    /// write when the upstream offers PIPELINING. Returns the connection and the outcome of
    /// the RCPT, or the outcome that ended the transaction before it started.
    pub(super) async fn begin(
        &self,
        mail: &MailParams,
        rcpt: &str,
        client: IpAddr,
    ) -> Result<(Conn, Outcome), Outcome> {
        let share = self.share_of(client).await?;
        let permit = tokio::time::timeout(
            self.settings.connect_timeout,
            self.busy.clone().acquire_owned(),
        )
        .await
        .map_err(|_| {
            unavailable(
                Stage::Connect,
                "all upstream connections busy for the whole connect timeout".into(),
            )
        })?
        .map_err(|_| unavailable(Stage::Connect, "upstream pool closed".into()))?;
        let mut permits = (permit, share);
        if let Some(client) = self.take_idle() {
            let mut conn = self.conn(client, permits);
            match conn.mail_rcpt(mail, rcpt).await {
                Ok(outcome) => return Ok((conn, outcome)),
                // Dead or closing: forget it and dial a fresh one.
                Err(Outcome::Unavailable(_)) => permits = conn.into_permits(),
                Err(Outcome::Refused(r)) if r.code == 421 => permits = conn.into_permits(),
                Err(other) => {
                    self.reset(conn).await;
                    return Err(other);
                }
            }
        }
        let client = SmtpClient::connect(&self.settings.dial())
            .await
            .map_err(Outcome::Unavailable)?;
        let mut conn = self.conn(client, permits);
        match conn.mail_rcpt(mail, rcpt).await {
            Ok(outcome) => Ok((conn, outcome)),
            Err(other) => {
                self.reset(conn).await;
                Err(other)
            }
        }
    }

    /// A permit of `client`'s share of the connections, waiting up to the connect timeout.
    async fn share_of(&self, client: IpAddr) -> Result<OwnedSemaphorePermit, Outcome> {
        let share = {
            let Ok(mut shares) = self.shares.lock() else {
                return Err(unavailable(Stage::Connect, "upstream pool broken".into()));
            };
            shares
                .entry(client)
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_per_client)))
                .clone()
        };
        tokio::time::timeout(self.settings.connect_timeout, share.acquire_owned())
            .await
            .map_err(|_| {
                unavailable(
                    Stage::Connect,
                    format!(
                        "{client} holds its whole share of upstream connections ({}) for the whole connect timeout",
                        self.settings.max_per_client
                    ),
                )
            })?
            .map_err(|_| unavailable(Stage::Connect, "upstream pool closed".into()))
    }

    fn conn(
        &self,
        client: SmtpClient,
        (permit, share): (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) -> Conn {
        Conn {
            client,
            command_timeout: self.settings.command_timeout,
            out: Vec::new(),
            permit,
            share,
        }
    }

    /// Sends the message and ends the transaction: one BDAT LAST chunk when the upstream
    /// offers CHUNKING, else DATA, then the stuffed message and its end (a small message in
    /// one write; a large one in pieces, never copied whole).
    pub(super) async fn finish(&self, mut conn: Conn, message: Content<'_>) -> Outcome {
        let s = &self.settings;
        let outcome = conn
            .send_message(message, s.command_timeout, s.data_timeout)
            .await;
        // After a final reply the upstream is ready for the next transaction.
        if matches!(outcome, Outcome::Accepted(_) | Outcome::Refused(_)) {
            self.release(conn);
        }
        outcome
    }

    /// RSET, and keep the connection if the upstream answered.
    pub(super) async fn reset(&self, mut conn: Conn) {
        if !conn.client.is_healthy() {
            return;
        }
        let reply = conn
            .client
            .command(b"RSET\r\n", self.settings.command_timeout, Stage::Mail)
            .await;
        if matches!(reply, Ok(r) if r.code == 250) {
            self.release(conn);
        }
    }

    fn take_idle(&self) -> Option<SmtpClient> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < self.settings.idle_timeout && entry.client.is_healthy() {
                return Some(entry.client);
            }
        }
        None
    }

    fn release(&self, conn: Conn) {
        let Conn { client, .. } = conn;
        if !client.is_healthy() {
            return;
        }
        let busy = self.settings.max_connections - self.busy.available_permits();
        if let Ok(mut idle) = self.idle.lock() {
            // `busy` still counts this connection, which is about to become idle.
            if idle.len() + busy <= self.settings.max_connections {
                idle.push(Idle {
                    client,
                    since: Instant::now(),
                });
            }
        }
    }
}

async fn reap_idle(pool: Weak<Pool>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        if let Ok(mut shares) = pool.shares.lock() {
            // Only the map holds it: no connection of that client is busy or waited for.
            shares.retain(|_, share| Arc::strong_count(share) > 1);
        }
        let expired: Vec<Idle> = match pool.idle.lock() {
            Ok(mut idle) => {
                let limit = pool.settings.idle_timeout;
                let (keep, expired) = idle.drain(..).partition(|i| i.since.elapsed() < limit);
                *idle = keep;
                expired
            }
            Err(_) => return,
        };
        drop(pool);
        for mut conn in expired {
            conn.client.quit().await;
        }
    }
}

impl Conn {
    fn into_permits(self) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        (self.permit, self.share)
    }

    /// MAIL FROM and the first RCPT. `Err` when MAIL itself failed or was refused.
    async fn mail_rcpt(&mut self, mail: &MailParams, rcpt: &str) -> Result<Outcome, Outcome> {
        let ext = self.client.ext;
        if mail.eight_bit && !ext.eight_bit {
            return Err(Outcome::Unsupported("8BITMIME"));
        }
        if mail.smtputf8 && !ext.smtputf8 {
            return Err(Outcome::Unsupported("SMTPUTF8"));
        }
        self.out.clear();
        push_command(&mut self.out, "MAIL FROM:<", &smtp_path(&mail.from), ">");
        if mail.eight_bit {
            self.out.truncate(self.out.len() - 2);
            self.out.extend_from_slice(b" BODY=8BITMIME\r\n");
        }
        if mail.smtputf8 {
            self.out.truncate(self.out.len() - 2);
            self.out.extend_from_slice(b" SMTPUTF8\r\n");
        }
        let t = self.command_timeout;
        if !ext.pipelining {
            let out = std::mem::take(&mut self.out);
            let mail_reply = self.client.command(&out, t, Stage::Mail).await;
            self.out = out;
            let mail_reply = sort(mail_reply)?;
            accepted(mail_reply)?;
            return Ok(self.rcpt(rcpt).await);
        }
        push_command(&mut self.out, "RCPT TO:<", &smtp_path(rcpt), ">");
        let out = std::mem::take(&mut self.out);
        let written = self.client.write(&out, t, Stage::Mail).await;
        self.out = out;
        written.map_err(Outcome::Unavailable)?;
        let mail_reply = sort(self.client.read_reply(t, Stage::Mail).await);
        // The RCPT reply must be read even when MAIL failed, to keep replies in step.
        let rcpt_reply = sort(self.client.read_reply(t, Stage::Rcpt).await);
        accepted(mail_reply?)?;
        Ok(match rcpt_reply {
            Ok(outcome) | Err(outcome) => outcome,
        })
    }

    /// A further RCPT.
    pub(super) async fn rcpt(&mut self, rcpt: &str) -> Outcome {
        self.out.clear();
        push_command(&mut self.out, "RCPT TO:<", &smtp_path(rcpt), ">");
        let out = std::mem::take(&mut self.out);
        let reply = self
            .client
            .command(&out, self.command_timeout, Stage::Rcpt)
            .await;
        self.out = out;
        match sort(reply) {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    async fn send_message(
        &mut self,
        message: Content<'_>,
        command: Duration,
        data: Duration,
    ) -> Outcome {
        self.out.clear();
        let chunking = self.client.ext.chunking;
        if chunking {
            // RFC 3030: the message as it is, no stuffing, no end marker.
            self.out
                .extend_from_slice(format!("BDAT {} LAST\r\n", message.len()).as_bytes());
        } else {
            match self.client.command(b"DATA\r\n", command, Stage::Data).await {
                Ok(r) if r.code == 354 => {}
                other => {
                    return match sort(other) {
                        Ok(Outcome::Accepted(r)) => {
                            unavailable(Stage::Data, format!("unexpected reply to DATA: {r}"))
                        }
                        Ok(outcome) | Err(outcome) => outcome,
                    }
                }
            }
        }
        let written = match message {
            // The common case: a small message, its framing and its end in one write.
            Content::Memory(m) if m.len() <= FILE_CHUNK => {
                if chunking {
                    self.out.extend_from_slice(m);
                } else {
                    let mut stuffer = Stuffer::default();
                    stuffer.push(m, &mut self.out);
                    stuffer.end(&mut self.out);
                }
                self.write_out(data).await
            }
            Content::Memory(m) => {
                let mut pieces = Pieces::Memory(m.chunks(FILE_CHUNK));
                self.send_pieces(chunking, data, &mut pieces).await
            }
            Content::File { file, len } => {
                let mut pieces = Pieces::File(FileReader::new(file, len));
                self.send_pieces(chunking, data, &mut pieces).await
            }
        };
        if self.out.capacity() > 256 * 1024 {
            self.out = Vec::new();
        }
        if let Err(failure) = written {
            return Outcome::Unavailable(failure);
        }
        match sort(self.client.read_reply(data, Stage::Data).await) {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    /// Writes `out` (and empties it).
    async fn write_out(&mut self, limit: Duration) -> Result<(), Failure> {
        let out = std::mem::take(&mut self.out);
        let written = self.client.write(&out, limit, Stage::Data).await;
        self.out = out;
        self.out.clear();
        written
    }

    /// Sends a large message piece by piece after the framing already in `out`: at most one
    /// piece (stuffed) is in the write buffer at a time.
    async fn send_pieces(
        &mut self,
        chunking: bool,
        limit: Duration,
        pieces: &mut Pieces<'_>,
    ) -> Result<(), Failure> {
        let mut stuffer = Stuffer::default();
        loop {
            let piece = pieces.next().await.map_err(|e| Failure {
                stage: Stage::Data,
                detail: format!("reading the spooled message: {e}"),
            })?;
            let Some(piece) = piece else { break };
            if chunking {
                self.out.extend_from_slice(piece);
            } else {
                stuffer.push(piece, &mut self.out);
            }
            self.write_out(limit).await?;
        }
        if !chunking {
            stuffer.end(&mut self.out);
        }
        self.write_out(limit).await
    }
}

/// A large message, piece by piece.
enum Pieces<'a> {
    Memory(std::slice::Chunks<'a, u8>),
    File(FileReader),
}

impl Pieces<'_> {
    async fn next(&mut self) -> std::io::Result<Option<&[u8]>> {
        match self {
            Pieces::Memory(chunks) => Ok(chunks.next()),
            Pieces::File(reader) => reader.next().await,
        }
    }
}

fn push_command(out: &mut Vec<u8>, head: &str, arg: &str, tail: &str) {
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(arg.as_bytes());
    out.extend_from_slice(tail.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A reply sorted into an outcome: `Ok` for 2xx/3xx, `Err` for the rest.
fn sort(reply: Result<UpstreamReply, Failure>) -> Result<Outcome, Outcome> {
    match reply {
        Ok(r) if r.code < 400 => Ok(Outcome::Accepted(r)),
        Ok(r) => Err(Outcome::Refused(r)),
        Err(f) => Err(Outcome::Unavailable(f)),
    }
}

fn accepted(outcome: Outcome) -> Result<(), Outcome> {
    match outcome {
        Outcome::Accepted(_) => Ok(()),
        other => Err(other),
    }
}

fn unavailable(stage: Stage, detail: String) -> Outcome {
    Outcome::Unavailable(Failure { stage, detail })
}
