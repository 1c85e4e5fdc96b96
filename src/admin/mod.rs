//! The admin socket: one versioned request/response protocol (JSON lines) shared by the
//! server and the CLI, the socket server, and a small blocking client for the CLI.

pub mod audit;
pub mod client;
pub mod proto;
pub mod server;

pub use client::{AdminClient, ClientError};
pub use proto::{Body, ErrorCode, Request, Response, PROTOCOL_VERSION};
pub use server::AdminServer;
