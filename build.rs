//! Generates the gRPC code for `proto/` with protox (pure Rust), so building
//! needs no `protoc` on the machine; and names the form of a saved index
//! (`DHAKIRA_INDEX_FORMAT`, see `matching::index::SAVED_FORMAT`).

use std::hash::Hasher;
use std::{env, fs, path::Path, path::PathBuf};

use prost::Message;

/// What decides the contents and the encoding of a saved index.
const INDEX_SOURCES: [&str; 5] = ["src/text", "src/matching", "src/unit.rs", "Cargo.lock", "Cargo.toml"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(["dhakira/v1/dhakira.proto"], ["proto"])?;
    // Kept for gRPC reflection.
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("dhakira_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;

    // A hash of every file of the index's sources, path and bytes, in
    // path order: any change to them (or to a dependency, or the version in
    // Cargo.toml) is another form.
    let mut files = Vec::new();
    for source in INDEX_SOURCES {
        println!("cargo:rerun-if-changed={source}");
        collect(Path::new(source), &mut files)?;
    }
    files.sort();
    // SipHash with fixed keys: the same sources give the same form.
    #[allow(deprecated)]
    let mut hash = std::hash::SipHasher::new();
    for file in &files {
        hash.write(file.to_string_lossy().as_bytes());
        hash.write(&fs::read(file)?);
    }
    println!("cargo:rustc-env=DHAKIRA_INDEX_FORMAT={}-{:016x}", env::var("CARGO_PKG_VERSION")?, hash.finish());
    Ok(())
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            collect(&entry?.path(), files)?;
        }
    } else if path.exists() {
        files.push(path.to_owned());
    }
    Ok(())
}
