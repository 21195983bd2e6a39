//! Generates the gRPC code for `proto/` with protox (pure Rust), so building
//! needs no `protoc` on the machine.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["dhakira/v1/dhakira.proto"], ["proto"])?;
    // Kept for gRPC reflection.
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("dhakira_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
