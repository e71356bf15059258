//! The wire: request bodies (ec2Query form and a JSON envelope), SigV4 signing and credentials,
//! redaction of those credentials from what the tool writes, response decoding (CopyImage
//! replies, DescribeImages answers, the dialects' error codes), and a copy-paste `curl`
//! reproduction of a request.

pub mod boto3;
pub mod codes;
pub mod curl;
pub mod decode;
pub mod describe;
pub mod encode;
pub mod ini;
pub mod redact;
pub mod sdk;
pub mod sign;
pub mod signer;
pub mod xml_escape;
pub mod xml_path;

use std::path::PathBuf;

pub use codes::{CodeMap, EnvelopeCodes, EnvelopeError, SameCodes};
pub use curl::curl_command;
pub use decode::{Reply, decode_json, decode_xml, root_namespace};
pub use encode::{form_body, json_body, percent_encode};
pub use redact::{Redacting, Redactor};
pub use sdk::decode_xml_read;
pub use sign::{Credentials, sign};
pub use signer::Signer;

/// A problem with credentials or with signing a request.
///
/// Messages name the credentials file (and line, where one is to blame) but never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// One of the two environment variables that make up a key pair is set, the other is not.
    #[error("{present} is set but {missing} is not; set both or neither")]
    IncompleteEnv {
        /// The variable that is set.
        present: &'static str,
        /// The variable that is missing or empty.
        missing: &'static str,
    },
    /// `AWS_PROFILE` names a profile but there is no file to look it up in.
    #[error(
        "AWS_PROFILE names profile `{profile}` but neither AWS_SHARED_CREDENTIALS_FILE nor HOME \
         is set, so there is no credentials file to read"
    )]
    NoCredentialsPath {
        /// The profile asked for.
        profile: String,
    },
    /// The credentials file was asked for (by `AWS_PROFILE` or `AWS_SHARED_CREDENTIALS_FILE`)
    /// but does not exist.
    #[error("credentials file {} does not exist (looking for profile `{profile}`)", path.display())]
    NoCredentialsFile {
        /// The file looked for.
        path: PathBuf,
        /// The profile asked for.
        profile: String,
    },
    /// The credentials file exists but could not be read.
    #[error("cannot read credentials file {}", path.display())]
    CredentialsRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of the credentials file is neither a section, a `key = value` pair, a comment
    /// nor blank.
    #[error("{}:{line}: {reason}", path.display())]
    CredentialsSyntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line (its text is not repeated: it may hold a secret).
        reason: &'static str,
    },
    /// The profile named by `AWS_PROFILE` has no section in the credentials file.
    #[error("profile `{profile}` not found in {}", path.display())]
    ProfileMissing {
        /// The profile asked for.
        profile: String,
        /// The file searched.
        path: PathBuf,
    },
    /// The profile's section lacks a key needed for static credentials.
    #[error(
        "{}:{line}: profile `{profile}` has no {missing} (only static keys are supported, \
         not SSO, role or process profiles)",
        path.display()
    )]
    ProfileIncomplete {
        /// The profile.
        profile: String,
        /// The file.
        path: PathBuf,
        /// The line of the profile's `[section]` header.
        line: usize,
        /// The missing key.
        missing: &'static str,
    },
    /// The request has no `host` header and its URI has no authority to derive one from.
    #[error("the request has no host header and its URI `{uri}` has no authority")]
    NoHost {
        /// The request URI.
        uri: String,
    },
    /// A request header value is not visible ASCII, so it cannot be signed.
    #[error("request header `{name}` is not visible ASCII text and cannot be signed")]
    HeaderNotText {
        /// The header name.
        name: String,
    },
    /// Signing produced a header HTTP cannot carry, e.g. from a session token with control
    /// characters.
    #[error("signing produced header `{name}` with a value HTTP cannot carry (check the session token)")]
    BadSignedHeader {
        /// The header name.
        name: String,
    },
    /// The signing parameters were incomplete.
    #[error("cannot build SigV4 signing parameters")]
    SigningParams(#[source] aws_sigv4::sign::v4::signing_params::BuildError),
    /// aws-sigv4 refused the request.
    #[error("SigV4 signing failed")]
    Signing(#[source] aws_sigv4::http_request::SigningError),
}
