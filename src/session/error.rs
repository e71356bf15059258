//! Why a planned run could not be carried out: every failure of a session, by its cause.

use std::io;
use std::path::PathBuf;

use crate::run::discover::DiscoverError;
use crate::run::journal::JournalError;
use crate::run::setup::SetupError;
use crate::serve::EnvelopeError;
use crate::snapshot::BaselineError;
use crate::wire::WireError;

#[cfg(doc)]
use super::Outcome;

/// AWS needs real credentials, and the environment has none (a run's and a cleanup's error
/// alike).
#[derive(Debug, thiserror::Error)]
#[error("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials")]
pub struct NoCredentials;

/// Why a planned run could not be carried out (deviations are not errors: they are in the
/// [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The embedded endpoint could not listen.
    #[error("cannot start the embedded endpoint")]
    Embedded(#[source] io::Error),
    /// No TCP connection to the endpoint.
    #[error("cannot reach the endpoint {url}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// No TCP connection to the proxy the requests would go through.
    #[error("cannot reach the proxy {host}:{port} (from HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) for the endpoint {url}")]
    ProxyUnreachable {
        /// The proxy's host.
        host: String,
        /// The proxy's port.
        port: u16,
        /// The endpoint.
        url: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// The environment's credentials are unusable.
    #[error(transparent)]
    Credentials(#[from] WireError),
    /// The plan needs credentials from the environment, and it has none.
    #[error(transparent)]
    NoCredentials(#[from] NoCredentials),
    /// `--discover` failed.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--setup` failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The world could not be written as JSON.
    #[error(transparent)]
    WorldJson(#[from] serde_json::Error),
    /// `--world-out` could not be written.
    #[error("{}: cannot write", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A file or directory could not be created (the report, the baseline directory).
    #[error("{}: cannot create", path.display())]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// The JSON envelope's code table is unusable.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The baseline is unusable.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The baseline has no corpus and is not to be rewritten.
    #[error("{}: no corpus; run once with --update-baseline to create the baseline", path.display())]
    NoCorpus {
        /// Where the corpus should be.
        path: PathBuf,
    },
    /// No cases can be generated (an unknown `--rule`, a world with nothing to copy).
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    /// The world the run starts from has nothing to copy.
    #[error("{origin}: {source}")]
    NothingToCopy {
        /// Where the world came from: its file, the built-in world, or what `--discover` or
        /// `--setup` found.
        origin: String,
        /// What the generator said.
        source: crate::generate::GenerateError,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The report could not be written (a closed pipe among others).
    #[error(transparent)]
    Report(io::Error),
    /// The journal of live calls cannot be written: the run stops before the next live call.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The baseline corpus's world is not one the spec allows.
    #[error(transparent)]
    World(#[from] crate::world::WorldError),
    /// The stateful checks' task ended abnormally.
    #[error("the stateful checks stopped")]
    Stateful(#[source] tokio::task::JoinError),
}
