//! A small HTTP/1.1 client for the alert webhook: one JSON POST per call over a fresh
//! connection (plain or rustls), bounded in time. Alerts are rare; no pool is kept.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Method, Request, Uri};

/// The whole exchange (connect, TLS, request, answer) must end within this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where alerts are posted.
#[derive(Clone)]
pub struct Webhook {
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    token: Option<String>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's path may hold a secret (Slack-style hooks): only scheme and host.
        write!(
            f,
            "{}://{}:{}",
            self.uri.scheme_str().unwrap_or("?"),
            self.host,
            self.port
        )
    }
}

impl Webhook {
    /// A webhook at `url` (`http://` or `https://`, verified against the system roots), sent
    /// `Authorization: Bearer TOKEN` when a token is given.
    pub fn new(url: &str, token: Option<String>) -> Result<Webhook, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("'{url}' is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("'{url}' is not an http(s) URL")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("'{url}' has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let config = crate::relay::client_tls_config(None, "alerts.webhook")
                .map_err(|e| e.to_string())?;
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Webhook {
            uri,
            host,
            port,
            tls,
            token,
        })
    }

    /// Posts `json`; the status code the webhook answered, or why it could not be asked.
    pub async fn post(&self, json: Vec<u8>) -> Result<u16, String> {
        tokio::time::timeout(TIMEOUT, self.exchange(json))
            .await
            .map_err(|_| format!("no answer within {}s", TIMEOUT.as_secs()))?
    }

    async fn exchange(&self, json: Vec<u8>) -> Result<u16, String> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some(connector) => {
                let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("bad host name: {e}"))?;
                let tls = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS failed: {e}"))?;
                self.send(tls, json).await
            }
            None => self.send(tcp, json).await,
        }
    }

    async fn send<S>(&self, stream: S, json: Vec<u8>) -> Result<u16, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP failed: {e}"))?;
        tokio::spawn(connection);
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let host = match self.uri.port_u16() {
            Some(port) => format!("{}:{port}", self.uri.host().unwrap_or("")),
            None => self.uri.host().unwrap_or("").to_string(),
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "dnc-relay");
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(axum::body::Body::from(json))
            .map_err(|e| format!("bad request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP failed: {e}"))?;
        let status = response.status().as_u16();
        // Read (a bounded part of) the answer so the connection ends cleanly.
        let _ = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 64 * 1024).await;
        Ok(status)
    }
}
