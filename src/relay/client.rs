//! A small SMTP client for the upstream side: connect (TCP_NODELAY, implicit TLS or
//! STARTTLS), EHLO, then commands written in batches and replies read one by one.
//!
//! It exists because the relay needs what lettre's connection cannot give: MAIL and the first
//! RCPT in one write when the upstream offers PIPELINING (RFC 2920), the message and its end
//! in one write (or one BDAT LAST chunk when the upstream offers CHUNKING, RFC 3030), and no
//! copy of the message for dot stuffing beyond the one write buffer. Each of those is a round
//! trip or a syscall saved per message. Every read has a deadline; after an error or a timeout
//! the connection is marked broken and never reused.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Failure, Stage, UpstreamReply};

/// Longest reply accepted from an upstream (all lines).
const MAX_REPLY: usize = 64 * 1024;

/// The extensions the relay uses, from the EHLO reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Extensions {
    pub pipelining: bool,
    pub chunking: bool,
    pub eight_bit: bool,
    pub smtputf8: bool,
    pub starttls: bool,
}

impl Extensions {
    fn parse(reply: &UpstreamReply) -> Extensions {
        let mut ext = Extensions::default();
        // The first line is the greeting name; each further line starts with a keyword.
        for line in reply.lines.iter().skip(1) {
            let keyword = line.split_whitespace().next().unwrap_or("");
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => ext.pipelining = true,
                "CHUNKING" => ext.chunking = true,
                "8BITMIME" => ext.eight_bit = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "STARTTLS" => ext.starttls = true,
                _ => {}
            }
        }
        ext
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// How to open a connection.
pub(super) struct Dial<'a> {
    pub host: &'a str,
    pub port: u16,
    pub hello: &'a str,
    pub implicit_tls: bool,
    pub starttls: bool,
    pub tls: &'a tokio_rustls::TlsConnector,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

/// One upstream connection.
pub(super) struct SmtpClient {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    pub(super) ext: Extensions,
    broken: bool,
}

impl SmtpClient {
    /// Connects, reads the greeting, says EHLO, and upgrades with STARTTLS when asked.
    pub(super) async fn connect(d: &Dial<'_>) -> Result<SmtpClient, Failure> {
        let fail = |stage, detail: String| Failure { stage, detail };
        let tcp = tokio::time::timeout(d.connect_timeout, TcpStream::connect((d.host, d.port)))
            .await
            .map_err(|_| {
                fail(
                    Stage::Connect,
                    format!("connect to {}:{} timed out", d.host, d.port),
                )
            })?
            .map_err(|e| {
                fail(
                    Stage::Connect,
                    format!("connect to {}:{}: {e}", d.host, d.port),
                )
            })?;
        // Replies are small and every write ends a batch: never wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let stream = if d.implicit_tls {
            Stream::Tls(Box::new(handshake(d, tcp).await?))
        } else {
            Stream::Plain(tcp)
        };
        let mut client = SmtpClient {
            stream,
            buf: Vec::with_capacity(4096),
            start: 0,
            ext: Extensions::default(),
            broken: false,
        };
        let greeting = client.read_reply(d.command_timeout, Stage::Hello).await?;
        if greeting.code != 220 {
            return Err(fail(Stage::Hello, format!("greeting: {greeting}")));
        }
        client.ehlo(d).await?;
        if d.starttls {
            if !client.ext.starttls {
                return Err(fail(
                    Stage::Hello,
                    "upstream does not offer STARTTLS and the URL requires TLS".into(),
                ));
            }
            let reply = client
                .command(b"STARTTLS\r\n", d.command_timeout, Stage::Hello)
                .await?;
            if reply.code != 220 {
                return Err(fail(Stage::Hello, format!("STARTTLS: {reply}")));
            }
            let Stream::Plain(tcp) = client.stream else {
                return Err(fail(
                    Stage::Hello,
                    "STARTTLS on an encrypted connection".into(),
                ));
            };
            // Anything the server sent before the handshake would be injected plaintext.
            if client.start < client.buf.len() {
                return Err(fail(
                    Stage::Hello,
                    "upstream sent data after STARTTLS".into(),
                ));
            }
            client.stream = Stream::Tls(Box::new(handshake(d, tcp).await?));
            client.ehlo(d).await?;
        }
        Ok(client)
    }

    async fn ehlo(&mut self, d: &Dial<'_>) -> Result<(), Failure> {
        let command = format!("EHLO {}\r\n", d.hello);
        let reply = self
            .command(command.as_bytes(), d.command_timeout, Stage::Hello)
            .await?;
        if reply.code != 250 {
            return Err(Failure {
                stage: Stage::Hello,
                detail: format!("EHLO: {reply}"),
            });
        }
        self.ext = Extensions::parse(&reply);
        Ok(())
    }

    /// Whether the connection may be reused.
    pub(super) fn is_healthy(&self) -> bool {
        !self.broken
    }

    /// Writes `bytes` in one go.
    pub(super) async fn write(
        &mut self,
        bytes: &[u8],
        limit: Duration,
        stage: Stage,
    ) -> Result<(), Failure> {
        let result = tokio::time::timeout(limit, async {
            match &mut self.stream {
                Stream::Plain(s) => s.write_all(bytes).await,
                Stream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
            }
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.broke(stage, format!("write failed: {e}"))),
            Err(_) => Err(self.broke(stage, "write timed out".into())),
        }
    }

    /// Writes a command and reads its reply.
    pub(super) async fn command(
        &mut self,
        bytes: &[u8],
        limit: Duration,
        stage: Stage,
    ) -> Result<UpstreamReply, Failure> {
        self.write(bytes, limit, stage).await?;
        self.read_reply(limit, stage).await
    }

    /// Reads one whole (possibly multi-line) reply.
    pub(super) async fn read_reply(
        &mut self,
        limit: Duration,
        stage: Stage,
    ) -> Result<UpstreamReply, Failure> {
        match tokio::time::timeout(limit, self.read_reply_inner()).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(detail)) => Err(self.broke(stage, detail)),
            Err(_) => Err(self.broke(
                stage,
                format!("no reply within {}", humantime::format_duration(limit)),
            )),
        }
    }

    async fn read_reply_inner(&mut self) -> Result<UpstreamReply, String> {
        let mut lines: Vec<String> = Vec::new();
        let mut code = 0u16;
        let mut total = 0usize;
        loop {
            let Some(pos) = memchr::memchr(b'\n', &self.buf[self.start..]) else {
                if self.buf.len() - self.start > MAX_REPLY {
                    return Err("reply too long".into());
                }
                if self.start > 0 {
                    self.buf.drain(..self.start);
                    self.start = 0;
                }
                self.buf.reserve(4096);
                let n = match &mut self.stream {
                    Stream::Plain(s) => s.read_buf(&mut self.buf).await,
                    Stream::Tls(s) => s.read_buf(&mut self.buf).await,
                }
                .map_err(|e| format!("read failed: {e}"))?;
                if n == 0 {
                    return Err("connection closed by the upstream".into());
                }
                continue;
            };
            let line = &self.buf[self.start..self.start + pos + 1];
            self.start += pos + 1;
            total += line.len();
            if total > MAX_REPLY {
                return Err("reply too long".into());
            }
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end_matches(['\r', '\n']);
            let this: u16 = text
                .get(..3)
                .and_then(|c| c.parse().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| format!("not an SMTP reply: {text:?}"))?;
            if code != 0 && this != code {
                return Err(format!("reply code changed within a reply: {text:?}"));
            }
            code = this;
            let sep = text.as_bytes().get(3).copied();
            lines.push(text.get(4..).unwrap_or("").to_string());
            match sep {
                Some(b'-') => continue,
                None | Some(b' ') => return Ok(UpstreamReply::new(code, lines)),
                Some(_) => return Err(format!("not an SMTP reply: {text:?}")),
            }
        }
    }

    /// Marks the connection unusable and describes why.
    fn broke(&mut self, stage: Stage, detail: String) -> Failure {
        self.broken = true;
        Failure { stage, detail }
    }

    /// Says QUIT politely (best effort, short deadline).
    pub(super) async fn quit(&mut self) {
        let _ = self
            .command(b"QUIT\r\n", Duration::from_secs(5), Stage::Hello)
            .await;
        self.broken = true;
    }
}

async fn handshake(
    d: &Dial<'_>,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Failure> {
    let fail = |detail: String| Failure {
        stage: Stage::Connect,
        detail,
    };
    let name = rustls_pki_types::ServerName::try_from(d.host.to_string())
        .map_err(|e| fail(format!("bad TLS server name {}: {e}", d.host)))?;
    tokio::time::timeout(d.connect_timeout, d.tls.connect(name, tcp))
        .await
        .map_err(|_| fail("TLS handshake timed out".into()))?
        .map_err(|e| fail(format!("TLS handshake with {}: {e}", d.host)))
}

/// Dot stuffing (RFC 5321 section 4.5.2) across pieces of one message: a line starting with
/// a dot gets another, wherever the pieces are cut.
#[derive(Debug)]
pub(super) struct Stuffer {
    at_line_start: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Stuffer {
            at_line_start: true,
        }
    }
}

impl Stuffer {
    /// Appends the next piece of the message, stuffed.
    pub(super) fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        out.reserve(piece.len() + piece.len() / 64 + 5);
        let mut rest = piece;
        while !rest.is_empty() {
            if self.at_line_start && rest[0] == b'.' {
                out.push(b'.');
            }
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    out.extend_from_slice(&rest[..=i]);
                    rest = &rest[i + 1..];
                    self.at_line_start = true;
                }
                None => {
                    out.extend_from_slice(rest);
                    rest = &[];
                    self.at_line_start = false;
                }
            }
        }
    }

    /// Appends the end marker. The DATA decoder makes every message end with CRLF, so the
    /// marker is `.` CRLF; a message that does not gets its line ended first.
    pub(super) fn end(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_doubles_leading_dots_and_ends_with_the_marker() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a\r\n", b"a\r\n.\r\n"),
            (b".a\r\n..b\r\n.\r\n", b"..a\r\n...b\r\n..\r\n.\r\n"),
            (b"", b".\r\n"),
            (b"no newline", b"no newline\r\n.\r\n"),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            let mut s = Stuffer::default();
            s.push(input, &mut out);
            s.end(&mut out);
            assert_eq!(&out, want, "{:?}", String::from_utf8_lossy(input));
            // Cut into pieces anywhere, the result is the same.
            for cut in 0..input.len() {
                let mut out = Vec::new();
                let mut s = Stuffer::default();
                s.push(&input[..cut], &mut out);
                s.push(&input[cut..], &mut out);
                s.end(&mut out);
                assert_eq!(&out, want, "cut at {cut}");
            }
        }
    }

    #[test]
    fn ehlo_keywords_are_read_case_insensitively() {
        let reply = UpstreamReply::new(
            250,
            vec![
                "mx.example".into(),
                "pipelining".into(),
                "SIZE 1000".into(),
                "CHUNKING".into(),
                "STARTTLS".into(),
            ],
        );
        let ext = Extensions::parse(&reply);
        assert!(ext.pipelining && ext.chunking && ext.starttls);
        assert!(!ext.eight_bit && !ext.smtputf8);
    }
}
