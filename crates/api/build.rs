//! Compiles `proto/quorate.proto` with `protox` (pure Rust, no system `protoc`) and keeps the
//! encoded descriptor set for server reflection. Clients get tonic's `connect` only with the
//! `transport` feature.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/quorate.proto");
    let fds = protox::compile(["proto/quorate.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("quorate_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(std::env::var_os("CARGO_FEATURE_TRANSPORT").is_some())
        .compile_fds(fds)?;
    Ok(())
}
