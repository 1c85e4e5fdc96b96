//! A small blocking client for the admin socket, used by the CLI.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{
    Body, ErrorCode, Operation, Request, RequestLine, Response, ResponseLine, PROTOCOL_VERSION,
};

/// Why a request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached (relay not running, wrong path, no permission).
    #[error("cannot reach the admin socket {path}: {source}")]
    Unreachable {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The connection broke or the answer was not understood.
    #[error("admin protocol error: {0}")]
    Protocol(String),
    /// Something other than the relay answers on the socket: its peer is neither root nor
    /// the owner of the socket's directory (the relay's user).
    #[error(
        "refusing to talk to {path}: it is answered by uid {peer}, not by root or uid {owner} \
         who owns {dir}; is another program listening there?"
    )]
    Impostor {
        /// The socket path.
        path: PathBuf,
        /// The uid on the other end.
        peer: u32,
        /// The owner of the socket's directory.
        owner: u32,
        /// That directory.
        dir: PathBuf,
    },
    /// The relay answered with an error.
    #[error("{message}")]
    Refused {
        /// The class of error.
        code: ErrorCode,
        /// The relay's explanation.
        message: String,
    },
}

/// A connection to the admin socket.
pub struct AdminClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// The relay runs as the user who owns the directory of its socket (the data directory, or
/// systemd's runtime directory), or as root. Anyone else answering there (a socket bound first
/// in a directory others can write) would receive what we send, evidence included.
fn check_peer(path: &Path, stream: &UnixStream) -> Result<(), ClientError> {
    use std::os::unix::fs::MetadataExt;
    let peer = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| ClientError::Unreachable {
            path: path.to_path_buf(),
            source: std::io::Error::from_raw_os_error(e as i32),
        })?
        .uid();
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let owner = std::fs::metadata(&dir)
        .map_err(|source| ClientError::Unreachable {
            path: path.to_path_buf(),
            source,
        })?
        .uid();
    if peer == 0 || peer == owner {
        return Ok(());
    }
    Err(ClientError::Impostor {
        path: path.to_path_buf(),
        peer,
        owner,
        dir,
    })
}

impl AdminClient {
    /// Connects to the socket.
    pub fn connect(path: &Path) -> Result<AdminClient, ClientError> {
        let unreachable = |source| ClientError::Unreachable {
            path: path.to_path_buf(),
            source,
        };
        let stream = UnixStream::connect(path).map_err(unreachable)?;
        check_peer(path, &stream)?;
        // Imports of large files take a while; a hung relay must not hang the CLI forever.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
        let writer = stream.try_clone().map_err(unreachable)?;
        Ok(AdminClient {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Runs one operation and returns its typed answer. An answer of another kind (a relay
    /// that does not speak this build's protocol) is a protocol error, here, once.
    pub fn call<O: Operation>(&mut self, op: O) -> Result<O::Response, ClientError> {
        let body = self.request(op.into())?;
        O::response(body).ok_or_else(|| {
            ClientError::Protocol("the relay answered with a different kind of answer".into())
        })
    }

    /// Sends one request and waits for its answer.
    pub fn request(&mut self, request: Request) -> Result<Body, ClientError> {
        let mut line = serde_json::to_vec(&RequestLine {
            v: PROTOCOL_VERSION,
            request,
        })
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        // The relay may have refused the connection before reading anything (no role, too
        // many connections): then the write fails, and its answer is waiting to be read.
        let sent = self.writer.write_all(&line);
        let mut answer = String::new();
        let n = self
            .reader
            .read_line(&mut answer)
            .map_err(|e| match &sent {
                Err(sent) => ClientError::Protocol(format!("send failed: {sent}")),
                Ok(()) => ClientError::Protocol(format!("no answer: {e}")),
            })?;
        if n == 0 {
            return Err(ClientError::Protocol(match sent {
                Err(e) => format!("send failed: {e}"),
                Ok(()) => "the relay closed the connection".into(),
            }));
        }
        let response: ResponseLine = serde_json::from_str(&answer)
            .map_err(|e| ClientError::Protocol(format!("unreadable answer: {e}")))?;
        match response.response {
            Response::Ok { body } => Ok(*body),
            Response::Error { code, message } => Err(ClientError::Refused { code, message }),
        }
    }
}
