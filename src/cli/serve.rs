//! `serve`: the embedded reference endpoint on its own, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use copyimage_conformance::{Endpoint, Mutant, Oracle, Picker, World, bind_endpoint, exit};

/// Runs `serve` until Ctrl-C.
pub fn serve(
    oracle: Arc<Oracle>,
    addr: SocketAddr,
    world: Option<PathBuf>,
    mutant: Option<Mutant>,
    picker: Picker,
) -> Result<u8> {
    let world = World::load_checked(world.as_deref(), oracle.spec())?;
    let endpoint = match mutant {
        Some(m) => Endpoint::mutated(&oracle, world, m)?,
        None => Endpoint::new(oracle, world),
    };
    let endpoint = endpoint.answering(picker);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let running = bind_endpoint(addr, endpoint).await.with_context(|| format!("cannot listen on {addr}"))?;
        match mutant {
            Some(m) => eprintln!(
                "copyimage-conformance: serving EC2 CopyImage on {} with the mutant {} (Ctrl-C stops)",
                running.url(),
                m.name()
            ),
            None => eprintln!("copyimage-conformance: serving EC2 CopyImage on {} (Ctrl-C stops)", running.url()),
        }
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        running.shutdown().await;
        Ok(exit::OK)
    })
}
