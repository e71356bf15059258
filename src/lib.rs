//! copyimage-conformance: tells, with evidence, whether an endpoint behaves like AWS EC2
//! `CopyImage`.
//!
//! The library follows the data flow: [`spec`] (the rules as data) → [`generate`] (cases) →
//! [`oracle`] (predictions) → `wire` (encode, sign, decode) → `run` → `verdict` →
//! `report`/`snapshot`, plus `serve`, the embedded reference endpoint.

#![warn(missing_docs)]

pub mod cli;
pub mod exit;
pub mod generate;
pub mod oracle;
pub mod report;
pub mod run;
pub mod serve;
pub mod session;
pub mod snapshot;
pub mod spec;
pub mod targets;
pub mod verdict;
pub mod wire;
pub mod world;
