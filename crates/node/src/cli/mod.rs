//! Subcommands of the `quorate` binary, one module each.

pub mod client_tls;
pub mod consensus;
pub mod demo;
pub mod operator;
pub mod task;
pub mod trigger_watch;
pub mod wallet;
pub mod workflow;
