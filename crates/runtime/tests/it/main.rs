//! The runtime's integration tests. One binary, a module per file: every test binary
//! monomorphizes the runtime's generics again, so one binary instead of eleven saves CI minutes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod adversarial_sequences;
mod aggregate_odds;
mod aggregation;
mod cached_registry;
mod checker_vectors;
mod forgery_and_equivocation;
mod indices_and_metrics;
mod lifecycle;
mod limits_and_faults;
mod linger;
mod optimistic_and_real_bls;
mod quarantine;

/// The README's embedding example (`examples/embed.rs`), run as a test so CI runs it from the
/// same build.
#[path = "../../examples/embed.rs"]
mod embed;

#[test]
fn the_embedding_example_runs() {
    embed::main().unwrap();
}
