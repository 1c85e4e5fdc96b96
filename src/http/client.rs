//! A small HTTP/1.1 client: one request per call over a fresh connection (plain or rustls),
//! bounded in time and in the size of the answer. Used for the alert webhook (a JSON POST)
//! and by a follower pulling its company's hashed feed (a GET). No pool is kept: calls are
//! seconds apart at the most frequent.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Method, Request, Uri};

/// An HTTP(S) endpoint and the bearer token sent to it.
#[derive(Clone)]
pub struct Endpoint {
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    token: Option<String>,
}

/// An answer: its status and (a bounded part of) its body.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: axum::body::Bytes,
}

impl std::fmt::Debug for Endpoint {
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

impl Endpoint {
    /// An endpoint at `url` (`http://` or `https://`, verified against the system roots and
    /// `ca_file`), sent `Authorization: Bearer TOKEN` when a token is given. `key` names the
    /// setting in messages.
    pub fn new(
        url: &str,
        token: Option<String>,
        ca_file: Option<&std::path::Path>,
        key: &str,
    ) -> Result<Endpoint, String> {
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
            // Its message names the setting (`key`) itself.
            let config = crate::relay::client_tls_config(ca_file, key).map_err(|e| e.0)?;
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Endpoint {
            uri,
            host,
            port,
            tls,
            token,
        })
    }

    /// The same endpoint, sent another bearer token.
    pub fn with_token(&self, token: String) -> Endpoint {
        Endpoint {
            token: Some(token),
            ..self.clone()
        }
    }

    /// Posts `json`; the status code the endpoint answered, or why it could not be asked.
    pub async fn post_json(&self, json: Vec<u8>, timeout: Duration) -> Result<u16, String> {
        let path = self.path().to_string();
        let body = Some(("application/json", json));
        self.call(Method::POST, &path, body, 64 * 1024, timeout)
            .await
            .map(|a| a.status)
    }

    /// Gets `path_and_query` (relative to the endpoint's URL: its own path when empty); the
    /// answer, whose body may be at most `max_body` bytes.
    pub async fn get(
        &self,
        path_and_query: &str,
        max_body: usize,
        timeout: Duration,
    ) -> Result<Answer, String> {
        self.call(Method::GET, path_and_query, None, max_body, timeout)
            .await
    }

    /// The URL's path and query.
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The whole exchange (connect, TLS, request, answer) within `timeout`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
        max_body: usize,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let request = self.request(method, path, body)?;
            match &self.tls {
                Some(connector) => {
                    let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                        .map_err(|e| format!("bad host name: {e}"))?;
                    let tls = connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| format!("TLS failed: {e}"))?;
                    send(tls, request, max_body).await
                }
                None => send(tcp, request, max_body).await,
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {}s", timeout.as_secs()))?
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Request<axum::body::Body>, String> {
        let host = match self.uri.port_u16() {
            Some(port) => format!("{}:{port}", self.uri.host().unwrap_or("")),
            None => self.uri.host().unwrap_or("").to_string(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, host)
            .header(header::USER_AGENT, "dnc-relay");
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                axum::body::Body::from(bytes)
            }
            None => axum::body::Body::empty(),
        };
        request.body(body).map_err(|e| format!("bad request: {e}"))
    }
}

async fn send<S>(
    stream: S,
    request: Request<axum::body::Body>,
    max_body: usize,
) -> Result<Answer, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP failed: {e}"))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP failed: {e}"))?;
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), max_body)
        .await
        .map_err(|e| {
            format!("the answer's body could not be read (over {max_body} bytes?): {e}")
        })?;
    Ok(Answer { status, body })
}
