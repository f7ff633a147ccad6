//! Compiles `proto/schakel/v1/*.proto` with protox (pure Rust, no system
//! `protoc`) and generates prost messages plus tonic clients and servers.

use std::path::PathBuf;

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let v1_dir = proto_root.join("schakel/v1");

    println!("cargo:rerun-if-changed={}", proto_root.display());
    println!("cargo:rerun-if-changed={}", v1_dir.display());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&v1_dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    // protox ships the google/protobuf well-known types itself.
    let fds = protox::compile(&files, [&proto_root])?;

    // The descriptor set for gRPC server reflection (includes imports and
    // source info, so reflection clients also see the comments).
    std::fs::write(out_dir.join("schakel_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Unimplemented RPCs answer UNIMPLEMENTED by default (issue 2), so the
        // hub implements services one RPC at a time.
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
