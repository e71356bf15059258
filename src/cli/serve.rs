//! `serve`: the embedded reference endpoint on its own, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::oracle::Oracle;
use crate::serve;
use crate::world::World;

/// Runs `serve` until Ctrl-C.
pub fn serve(
    oracle: Arc<Oracle>,
    addr: SocketAddr,
    world: Option<PathBuf>,
    mutant: Option<serve::Mutant>,
) -> Result<u8> {
    let world = World::load_checked(world.as_deref(), oracle.spec())?;
    let endpoint = match mutant {
        Some(m) => serve::Endpoint::mutated(&oracle, world, m)?,
        None => serve::Endpoint::new(oracle, world),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let running = serve::bind_endpoint(addr, endpoint).await.with_context(|| format!("cannot listen on {addr}"))?;
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
        Ok(crate::exit::OK)
    })
}
