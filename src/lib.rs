//! dnc-relay: an SMTP relay that refuses do-not-contact recipients at RCPT time and relays
//! everything else to the real upstream MTA.
//!
//! Layers, from the bottom: [`address`], [`model`], [`config`], [`claims`] -> [`store`] -> [`policy`],
//! [`relay`], [`audit`] -> [`smtp`], [`admin`] -> [`server`] -> [`cli`]. Nothing imports a layer
//! above it. See DESIGN.md for the principles this code keeps.

#![warn(missing_docs)]

pub mod access;
pub mod address;
pub mod admin;
pub mod alerts;
pub mod audit;
pub mod claims;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod datadir;
pub mod decision;
pub mod feed;
pub mod feedback;
pub mod hashing;
pub mod http;
pub mod lists;
pub mod locks;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod panics;
pub mod phone;
pub mod policy;
pub mod relay;
pub mod sender;
pub mod server;
pub mod smtp;
pub mod spool;
pub mod store;
pub mod token;
pub mod unsubscribe;
