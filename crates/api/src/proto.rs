//! Generated gRPC code for `proto/quorate.proto` (package `quorate.v1`).

/// Messages and services of `quorate.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("quorate.v1");
}

/// The encoded file descriptor set, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/quorate_descriptor.bin"));
