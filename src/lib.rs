//! FFO: the institutional memory of an operations team.
//!
//! Data flows one way: sources → `ingest` → `ledger` → projections
//! (`graph`, `topology`) → `context` (the query layer) → faces (`http`,
//! `cli`). See ARCHITECTURE.md for the map.

pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod graph;
pub mod http;
pub mod ingest;
pub mod ledger;
pub mod mcp;
pub mod model;
pub mod projection;
pub mod render;
pub mod search;
pub mod topology;
pub mod wire;
