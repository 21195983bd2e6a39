//! The gRPC contract (`proto/dhakira/v1/dhakira.proto`), generated at build time.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("dhakira.v1");

/// The encoded file descriptor set of the contract (for reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dhakira_descriptor.bin"));
