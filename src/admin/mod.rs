//! The admin socket: one versioned request/response protocol (JSON lines) shared by the
//! server and the CLI, with one typed operation per request (`ops`, one file per area), the
//! socket server (dispatch and role check), and a small blocking client for the CLI.

pub mod audit;
pub mod client;
pub mod context;
pub mod ops;
pub mod proto;
pub mod server;

pub use client::{AdminClient, ClientError};
pub use proto::{Body, ErrorCode, Operation, Request, Response, PROTOCOL_VERSION};
pub use server::AdminServer;
