//! copyimage-conformance: tells, with evidence, whether an endpoint behaves like AWS EC2
//! `CopyImage`.
//!
//! # Data flow
//!
//! The rules are data: a [`Spec`] (the built-in `specs/copy_image.toml`, or a file) lists the
//! parameters, their limits, the evaluation phases and the rules with their outcomes and
//! sources. From there:
//!
//! - generate: a [`Generator`] draws [`Case`]s, valid requests and requests aimed at one rule
//!   (or several), each with its prediction;
//! - oracle: the [`Oracle`] predicts, for a [`World`] (the account's images and tokens) and the
//!   request's [`Params`], every acceptable response: a [`Prediction`];
//! - wire: requests are encoded (EC2 Query or a JSON envelope), signed with SigV4, sent, and
//!   the reply decoded into a [`Reply`];
//! - run: the cases go out with bounded concurrency, retries and budgets;
//! - verdict: [`judge`] compares one reply with its prediction into a [`Verdict`] with its
//!   [`Finding`]s;
//! - report and snapshot: the verdicts become a report ([`ReportFormat`]) and, against a
//!   baseline directory, normalized snapshots of every response;
//! - serve: the embedded reference endpoint ([`Endpoint`]), which answers as the oracle
//!   predicts, optionally with a known fault planted ([`Mutant`]);
//! - session: a [`Plan`], resolved once from [`Flags`] and the environment ([`Env`]), is
//!   executed by a [`Session`] into one [`Outcome`] with the run's exit code ([`exit`]).
//!
//! # Entry points
//!
//! - Predict one request: [`Oracle::predict`].
//! - Generate cases: [`Generator::new`], then iterate.
//! - Judge a reply you obtained yourself: [`judge`].
//! - Test an endpoint: [`Plan::resolve`], then [`Session::run`].
//! - Serve the reference endpoint: [`bind_endpoint`] with an [`Endpoint`].
//!
//! # Safety for library callers
//!
//! The only way this library sends requests is a [`Plan`] executed by a [`Session`], and
//! [`Plan::resolve`] applies every safety decision the command line applies, including the
//! ones its flag parser makes: an endpoint under a DNS suffix of the spec's AWS partitions (or
//! any other host signed with your own credentials, unless `not_aws`) counts as real AWS;
//! every request to it is a `DryRun` unless `live` is set, and `live` needs `max_creates`, the
//! most requests that may create an image. A resolved plan cannot be altered, and there is no
//! lower-level way to sign or send a request from outside the crate. As with `--spec`, the
//! [`Spec`] you resolve against decides which hosts are AWS's.
//!
//! # Example: predict one request
//!
//! A two-character `Name` breaks the name rule; the oracle predicts the error AWS sends:
//!
//! ```
//! use copyimage_conformance::{Oracle, Params, World};
//!
//! let oracle = Oracle::builtin()?;
//! let world = World::default_world();
//! let image = &world.images[0];
//! let params: Params = [
//!     ("Action", "CopyImage"),
//!     ("Version", "2016-11-15"),
//!     ("Name", "ab"),
//!     ("SourceImageId", image.image_id.as_str()),
//!     ("SourceRegion", image.region.as_str()),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_owned(), v.to_owned()))
//! .collect();
//!
//! let prediction = oracle.predict(&world, &params);
//! assert!(!prediction.ok);
//! assert_eq!(prediction.code_list(), ["InvalidAMIName.Malformed"]);
//! assert_eq!(prediction.status, 400);
//! # Ok::<(), copyimage_conformance::SpecError>(())
//! ```
//!
//! # Example: judge a reply
//!
//! A success where the prediction accepts only an error is a deviation:
//!
//! ```
//! use copyimage_conformance::{Oracle, Params, Reply, SameCodes, Verdict, World, judge};
//!
//! let oracle = Oracle::builtin()?;
//! let world = World::default_world();
//! let params: Params = [("Action", "CopyImage"), ("Version", "2016-11-15")]
//!     .into_iter()
//!     .map(|(k, v)| (k.to_owned(), v.to_owned()))
//!     .collect();
//! let prediction = oracle.predict(&world, &params);
//!
//! let reply = Reply::Success { image_id: Some("ami-0123456789abcdef0".into()), request_id: None };
//! let verdict = judge(&prediction, 200, &reply, None, None, &SameCodes);
//! assert!(matches!(verdict, Verdict::Deviation { .. }));
//! # Ok::<(), copyimage_conformance::SpecError>(())
//! ```

#![warn(missing_docs)]

pub mod exit;
mod generate;
mod oracle;
mod report;
mod run;
mod serve;
mod session;
mod snapshot;
mod spec;
// Emulators described by targets/*.toml: their installation, servers, gates and the
// conformance matrix, for tools that drive emulators as this CLI does.
pub mod targets;
mod verdict;
mod wire;
mod world;

pub use generate::{Case, GenerateError, Generator, Only, Step};
pub use oracle::{Oracle, Prediction, Trace};
pub use report::Format as ReportFormat;
pub use report::merge::{MergeError, MergedRun};
pub use report::staged::{Before as ReportBefore, Staged};
pub use report::{Shard, ShardBy, ShardError};
pub use run::Dialect;
pub use run::cleanup::{Done as CleanedUp, Fate};
pub use serve::mutant::list as list_mutants;
pub use serve::{Answer, Endpoint, Mutant, Picker, Running, bind_endpoint};
pub use session::cleanup::{CleanupFlags, cleanup};
pub use session::{Env, Flags, Interrupt, Outcome, Plan, PlanError, Session, SessionError};
// The spec's `Outcome` is one acceptable answer of a prediction; `Outcome` is the run's.
pub use spec::{BUILTIN as BUILTIN_SPEC, Confidence, Outcome as AcceptableOutcome, RuleFormat, Spec, SpecError};
// What `Spec::rule_id` refuses: an unknown id (with a suggestion) or an ambiguous prefix.
pub use spec::RuleIdError;
// Every file a user hands the tool is read with a bound: the command line reads its own ones
// (a `predict` case, the README `targets matrix --update` rewrites) the same way.
pub use spec::input::{InputError, Limit as InputLimit, read_text, read_text_from};
pub use verdict::{CodeMap, Finding, SameCodes, Verdict, judge};
pub use wire::{Redactor, Reply};
pub use world::{Image, ImageState, Params, World, WorldError};
// The request body encoding and the reply decoding, for the micro-benchmarks in benches/ and
// tools that replay a run's bodies: pure text functions, no I/O and no credentials (signing and
// sending stay inside the crate, as the safety notes above promise).
pub use wire::{decode_xml, form_body};
