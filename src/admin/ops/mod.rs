//! The admin operations, one file per area. Each file holds its operations' request and
//! response types (shared by the server and the CLI; see [`super::proto::Operation`]) and their
//! handlers on the server side. A handler gets its request and a [`super::context::Cx`], and
//! its role was checked before it runs.

pub mod alerts;
pub mod audit;
pub mod consent;
pub mod erase;
pub mod feed;
pub mod feedback;
pub mod lift;
pub mod lists;
pub mod locks;
pub mod suppress;
