//! Upstream SMTP connections: connect (TCP_NODELAY, TLS), a bounded pool of idle
//! connections, and a timeout on every step.
//!
//! We drive lettre's low-level `AsyncSmtpConnection` ourselves: its pooled `send_raw` aborts a
//! whole message on one refused recipient and only times out the connect. A connection whose
//! command timed out or broke is never put back: its state is unknown.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate};
use lettre::transport::smtp::client::{TlsParameters, TlsVersion};
use lettre::transport::smtp::extension::{ClientId, Extension};
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Failure, MailParams, Outcome, SetupError, Stage, UpstreamReply};
use crate::address::smtp_path;
use crate::config::{Config, UpstreamTls};

/// Everything needed to open upstream connections.
#[derive(Clone)]
pub struct UpstreamSettings {
    host: String,
    port: u16,
    tls: UpstreamTls,
    hello: ClientId,
    max_connections: usize,
    connect_timeout: Duration,
    command_timeout: Duration,
    data_timeout: Duration,
    idle_timeout: Duration,
    /// For `smtps://`: our own rustls config, so the socket keeps TCP_NODELAY.
    implicit_tls: Option<tokio_rustls::TlsConnector>,
    /// For STARTTLS, which lettre performs on our socket.
    starttls: Option<TlsParameters>,
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
        let extra_ca = match &u.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                SetupError(format!(
                    "cannot read upstream.ca_file {}: {e}",
                    path.display()
                ))
            })?),
            None => None,
        };
        let implicit_tls = match tls {
            UpstreamTls::Implicit => {
                Some(rustls_connector(extra_ca.as_deref(), u.ca_file.as_deref())?)
            }
            _ => None,
        };
        let starttls = match tls {
            UpstreamTls::StartTls => {
                let mut builder = TlsParameters::builder(host.to_string())
                    .set_min_tls_version(TlsVersion::Tlsv12);
                if let Some(pem) = &extra_ca {
                    let cert = Certificate::from_pem(pem).map_err(|e| {
                        SetupError(format!("upstream.ca_file is not a PEM certificate: {e}"))
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(
                    builder
                        .build_rustls()
                        .map_err(|e| SetupError(format!("TLS setup failed: {e}")))?,
                )
            }
            _ => None,
        };
        Ok(UpstreamSettings {
            host: host.to_string(),
            port,
            tls,
            hello: ClientId::Domain(config.upstream_hello_name().to_string()),
            max_connections: u.max_connections,
            connect_timeout: u.connect_timeout,
            command_timeout: u.command_timeout,
            data_timeout: u.data_timeout,
            idle_timeout: u.idle_timeout,
            implicit_tls,
            starttls,
        })
    }
}

fn rustls_connector(
    extra_ca: Option<&[u8]>,
    path: Option<&Path>,
) -> Result<tokio_rustls::TlsConnector, SetupError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(pem) = extra_ca {
        let shown = path.map(|p| p.display().to_string()).unwrap_or_default();
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
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
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// An implicit-TLS stream in the shape lettre accepts.
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// An idle connection and when it was last used.
struct Idle {
    smtp: AsyncSmtpConnection,
    since: Instant,
}

/// The pool: busy connections hold a semaphore permit; idle ones wait in a list. Busy plus
/// idle never exceeds `max_connections`.
pub(super) struct Pool {
    settings: UpstreamSettings,
    busy: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
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
    smtp: AsyncSmtpConnection,
    command_timeout: Duration,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    /// Creates the pool and a task that closes connections idle for too long.
    pub(super) fn start(settings: UpstreamSettings) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            busy: Arc::new(Semaphore::new(settings.max_connections)),
            idle: Mutex::new(Vec::new()),
            settings,
        });
        let weak = Arc::downgrade(&pool);
        let period = (pool.settings.idle_timeout / 2).max(Duration::from_millis(500));
        tokio::spawn(reap_idle(weak, period));
        pool
    }

    pub(super) fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Takes a connection (pooled or new) and sends MAIL FROM. A pooled connection that turns
    /// out to be dead is replaced once: nothing has been committed before MAIL.
    pub(super) async fn begin(&self, mail: &MailParams) -> Result<Conn, Outcome> {
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
        if let Some(smtp) = self.take_idle() {
            let mut conn = Conn {
                smtp,
                command_timeout: self.settings.command_timeout,
                _permit: permit,
            };
            match conn.mail(mail, &self.settings).await {
                Outcome::Accepted(_) => return Ok(conn),
                Outcome::Refused(r) if r.code != 421 => return Err(Outcome::Refused(r)),
                // Dead or closing: fall through to a fresh connection.
                _ => {
                    let Conn {
                        _permit: permit, ..
                    } = conn;
                    return self.begin_fresh(mail, permit).await;
                }
            }
        }
        self.begin_fresh(mail, permit).await
    }

    async fn begin_fresh(
        &self,
        mail: &MailParams,
        permit: OwnedSemaphorePermit,
    ) -> Result<Conn, Outcome> {
        let smtp = connect(&self.settings)
            .await
            .map_err(Outcome::Unavailable)?;
        let mut conn = Conn {
            smtp,
            command_timeout: self.settings.command_timeout,
            _permit: permit,
        };
        match conn.mail(mail, &self.settings).await {
            Outcome::Accepted(_) => Ok(conn),
            other => {
                if matches!(other, Outcome::Refused(_) | Outcome::Unsupported(_)) {
                    self.reset(conn).await;
                }
                Err(other)
            }
        }
    }

    /// DATA and the message, then the connection goes back to the pool.
    pub(super) async fn finish(&self, mut conn: Conn, message: &[u8]) -> Outcome {
        let s = &self.settings;
        let data = step(
            s.command_timeout,
            Stage::Data,
            conn.smtp.command("DATA\r\n"),
        )
        .await;
        let outcome = match data {
            Outcome::Accepted(_) => {
                // lettre sends CRLF . CRLF after the body; the body's own final CRLF is that
                // first CRLF (RFC 5321 section 4.1.1.4), or the upstream would get an extra line.
                let body = message.strip_suffix(b"\r\n").unwrap_or(message);
                step(s.data_timeout, Stage::Data, conn.smtp.message(body)).await
            }
            other => other,
        };
        match outcome {
            // After a final reply the upstream is ready for the next transaction.
            Outcome::Accepted(_) | Outcome::Refused(_) => self.release(conn),
            _ => {}
        }
        outcome
    }

    /// RSET, and keep the connection if the upstream answered.
    pub(super) async fn reset(&self, mut conn: Conn) {
        let outcome = step(
            self.settings.command_timeout,
            Stage::Mail,
            conn.smtp.command("RSET\r\n"),
        )
        .await;
        if outcome.is_accepted() {
            self.release(conn);
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < self.settings.idle_timeout && !entry.smtp.has_broken() {
                return Some(entry.smtp);
            }
        }
        None
    }

    fn release(&self, conn: Conn) {
        let Conn { smtp, .. } = conn;
        if smtp.has_broken() {
            return;
        }
        let busy = self.settings.max_connections - self.busy.available_permits();
        if let Ok(mut idle) = self.idle.lock() {
            // `busy` still counts this connection, which is about to become idle.
            if idle.len() + busy <= self.settings.max_connections {
                idle.push(Idle {
                    smtp,
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
        let expired: Vec<Idle> = match pool.idle.lock() {
            Ok(mut idle) => {
                let limit = pool.settings.idle_timeout;
                let (keep, expired) = idle.drain(..).partition(|i| i.since.elapsed() < limit);
                *idle = keep;
                expired
            }
            Err(_) => return,
        };
        let quit_timeout = pool.settings.command_timeout.min(Duration::from_secs(5));
        drop(pool);
        for mut conn in expired {
            let _ = tokio::time::timeout(quit_timeout, conn.smtp.quit()).await;
        }
    }
}

impl Conn {
    async fn mail(&mut self, mail: &MailParams, s: &UpstreamSettings) -> Outcome {
        let info = self.smtp.server_info();
        let mut params = String::new();
        if mail.eight_bit {
            if !info.supports_feature(Extension::EightBitMime) {
                return Outcome::Unsupported("8BITMIME");
            }
            params.push_str(" BODY=8BITMIME");
        }
        if mail.smtputf8 {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Outcome::Unsupported("SMTPUTF8");
            }
            params.push_str(" SMTPUTF8");
        }
        let command = format!("MAIL FROM:<{}>{params}\r\n", smtp_path(&mail.from));
        step(s.command_timeout, Stage::Mail, self.smtp.command(command)).await
    }

    pub(super) async fn rcpt(&mut self, rcpt: &str) -> Outcome {
        let command = format!("RCPT TO:<{}>\r\n", smtp_path(rcpt));
        step(
            self.command_timeout,
            Stage::Rcpt,
            self.smtp.command(command),
        )
        .await
    }
}

/// Opens a connection: TCP (no Nagle: lettre writes the final dot separately), TLS, greeting,
/// EHLO, STARTTLS if asked for.
async fn connect(s: &UpstreamSettings) -> Result<AsyncSmtpConnection, Failure> {
    let fail = |stage, detail: String| Failure { stage, detail };
    let tcp = tokio::time::timeout(
        s.connect_timeout,
        TcpStream::connect((s.host.as_str(), s.port)),
    )
    .await
    .map_err(|_| {
        fail(
            Stage::Connect,
            format!("connect to {}:{} timed out", s.host, s.port),
        )
    })?
    .map_err(|e| {
        fail(
            Stage::Connect,
            format!("connect to {}:{}: {e}", s.host, s.port),
        )
    })?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn AsyncTokioStream> = match &s.implicit_tls {
        Some(connector) => {
            let name = rustls_pki_types::ServerName::try_from(s.host.clone())
                .map_err(|e| fail(Stage::Connect, format!("bad TLS server name: {e}")))?;
            let tls = tokio::time::timeout(s.connect_timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| fail(Stage::Connect, "TLS handshake timed out".into()))?
                .map_err(|e| fail(Stage::Connect, format!("TLS handshake: {e}")))?;
            Box::new(TlsStream(tls))
        }
        None => Box::new(tcp),
    };
    let mut smtp = tokio::time::timeout(
        s.command_timeout,
        AsyncSmtpConnection::connect_with_transport(stream, &s.hello),
    )
    .await
    .map_err(|_| fail(Stage::Hello, "greeting or EHLO timed out".into()))?
    .map_err(|e| fail(Stage::Hello, describe_error(&e)))?;
    if let Some(params) = &s.starttls {
        if !smtp.can_starttls() {
            return Err(fail(
                Stage::Hello,
                "upstream does not offer STARTTLS and the URL requires TLS".into(),
            ));
        }
        tokio::time::timeout(s.command_timeout, smtp.starttls(params.clone(), &s.hello))
            .await
            .map_err(|_| fail(Stage::Hello, "STARTTLS timed out".into()))?
            .map_err(|e| fail(Stage::Hello, format!("STARTTLS: {}", describe_error(&e))))?;
    }
    Ok(smtp)
}

/// Runs one command with a timeout and sorts the result into an outcome.
async fn step(
    limit: Duration,
    stage: Stage,
    fut: impl Future<Output = Result<Response, lettre::transport::smtp::Error>>,
) -> Outcome {
    match tokio::time::timeout(limit, fut).await {
        Err(_) => unavailable(
            stage,
            format!("no reply within {}", humantime::format_duration(limit)),
        ),
        Ok(Ok(response)) => Outcome::Accepted(reply_of(&response)),
        Ok(Err(e)) => match e.status() {
            Some(code) => Outcome::Refused(UpstreamReply {
                code: u16::from(code),
                text: error_text(&e),
            }),
            None => unavailable(stage, describe_error(&e)),
        },
    }
}

fn unavailable(stage: Stage, detail: String) -> Outcome {
    Outcome::Unavailable(Failure { stage, detail })
}

fn reply_of(response: &Response) -> UpstreamReply {
    UpstreamReply {
        code: u16::from(response.code()),
        text: response.message().collect::<Vec<_>>().join(" "),
    }
}

/// The upstream's text of a negative reply (lettre keeps it as the error's source).
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error;
    e.source().map(|s| s.to_string()).unwrap_or_default()
}

fn describe_error(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error;
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}
