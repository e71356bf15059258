//! Credentials (from the environment or the shared credentials file) and SigV4 request
//! signing with aws-sigv4.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::header::{AUTHORIZATION, HOST, HeaderName, HeaderValue};

use super::{WireError, ini};
use crate::spec::input::{Limit, read_text};

const ENV_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
const ENV_SECRET: &str = "AWS_SECRET_ACCESS_KEY";
const ENV_TOKEN: &str = "AWS_SESSION_TOKEN";
const ENV_PROFILE: &str = "AWS_PROFILE";
const ENV_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// An AWS key pair, with a session token for temporary credentials.
///
/// `Debug` shows only the access key id; the secret and token print as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into(), session_token }
    }

    /// AWS's documented example key pair, for emulators that do not check signatures.
    pub fn dummy() -> Self {
        Self::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)
    }

    /// `KEY:SECRET` of the dummy credentials, which are AWS's published examples and not
    /// secret: a reproduction against an emulator can spell them out.
    pub fn dummy_user(&self) -> String {
        let d = Self::dummy();
        format!("{}:{}", d.access_key_id, d.secret_access_key)
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret parts, for redaction: the secret access key, then the session token if any.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.secret_access_key.as_str()).chain(self.session_token.as_deref())
    }

    /// The secret access key, for a signer that derives keys from it.
    pub(super) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token, if any, for a signer that sends it.
    pub(super) fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    /// Whether these are temporary credentials with a session token.
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }

    /// Looks credentials up the way the AWS CLI does for static keys, reading variables
    /// through `env` (so tests need not touch the process environment):
    ///
    /// 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ optional `AWS_SESSION_TOKEN`);
    /// 2. otherwise profile `${AWS_PROFILE:-default}` in
    ///    `${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}`.
    ///
    /// Empty variables count as unset. `Ok(None)` when nothing is configured; an error when
    /// only half a key pair is in the environment, when a profile or file that was asked for
    /// explicitly is missing, when the file is malformed, or when the profile's section lacks
    /// a key.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, WireError> {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        match (var(ENV_KEY_ID), var(ENV_SECRET)) {
            (Some(id), Some(secret)) => {
                return Ok(Some(Self::new(id, secret, var(ENV_TOKEN))));
            }
            (Some(_), None) => {
                return Err(WireError::IncompleteEnv { present: ENV_KEY_ID, missing: ENV_SECRET });
            }
            (None, Some(_)) => {
                return Err(WireError::IncompleteEnv { present: ENV_SECRET, missing: ENV_KEY_ID });
            }
            (None, None) => {}
        }
        let named = var(ENV_PROFILE);
        let explicit_file = var(ENV_FILE);
        let profile_named = named.is_some();
        let asked = profile_named || explicit_file.is_some();
        let profile = named.unwrap_or_else(|| "default".to_owned());
        let path = match explicit_file {
            Some(p) => PathBuf::from(p),
            None => match var("HOME") {
                Some(home) => Path::new(&home).join(".aws").join("credentials"),
                None if asked => return Err(WireError::NoCredentialsPath { profile }),
                None => return Ok(None),
            },
        };
        let text = match read_text(&path, Limit::CREDENTIALS) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return if asked { Err(WireError::NoCredentialsFile { path, profile }) } else { Ok(None) };
            }
            Err(e) => return Err(WireError::CredentialsRead { path, source: e.into_io() }),
        };
        match profile_from_ini(&text, &profile, &path)? {
            Some(c) => Ok(Some(c)),
            None if profile_named => Err(WireError::ProfileMissing { profile, path }),
            None => Ok(None),
        }
    }

    /// [`Credentials::from_env`] over the process environment.
    pub fn from_process_env() -> Result<Option<Credentials>, WireError> {
        Self::from_env(&|k| std::env::var(k).ok())
    }
}

/// Reads `profile` from an INI credentials file. `Ok(None)` when the file has no such section;
/// a section without both keys is incomplete.
fn profile_from_ini(text: &str, profile: &str, path: &Path) -> Result<Option<Credentials>, WireError> {
    let Some(section) = ini::section(text, path, |name| name == profile)? else { return Ok(None) };
    match section.credentials(profile, path)? {
        Some(c) => Ok(Some(c)),
        None => Err(WireError::ProfileIncomplete {
            profile: profile.to_owned(),
            path: path.to_owned(),
            line: section.line,
            missing: ini::KEY_ID,
        }),
    }
}

/// Signs `req` with SigV4 for `region` and `service` at `time`, adding `x-amz-date`,
/// `authorization` and, with a session token, `x-amz-security-token`.
///
/// The body is signed as is (its SHA-256 goes into the canonical request). A missing `host`
/// header is set from the URI's authority (without a default port) so the header sent is the
/// one signed. Signing again replaces the earlier signature.
pub fn sign(
    req: &mut http::Request<Vec<u8>>,
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), WireError> {
    sign_with(req, creds, region, service, time, SigningSettings::default())
}

/// [`sign`] with explicit settings; the test suite's body-signing vectors need
/// `x-amz-content-sha256`, which EC2 does not.
fn sign_with(
    req: &mut http::Request<Vec<u8>>,
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<(), WireError> {
    // Stale signing headers would otherwise be signed into the new signature.
    for h in [AUTHORIZATION.as_str(), X_AMZ_DATE, X_AMZ_SECURITY_TOKEN] {
        req.headers_mut().remove(h);
    }
    ensure_host(req)?;

    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "copyimage-conformance",
    )
    .into();
    let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(WireError::SigningParams)?
        .into();

    let uri = req.uri().to_string();
    let mut headers = Vec::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        let value = value.to_str().map_err(|_| WireError::HeaderNotText { name: name.to_string() })?;
        headers.push((name.as_str(), value));
    }
    let signable =
        SignableRequest::new(req.method().as_str(), uri, headers.into_iter(), SignableBody::Bytes(req.body()))
            .map_err(WireError::Signing)?;
    let (instructions, _signature) =
        aws_sigv4::http_request::sign(signable, &params).map_err(WireError::Signing)?.into_parts();

    // Applied by hand: `apply_to_request_http1x` panics on a header value HTTP rejects, and a
    // session token comes from the user's files.
    let mut add = Vec::new();
    for (name, value) in instructions.headers() {
        let bad = || WireError::BadSignedHeader { name: name.to_owned() };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
        value.set_sensitive(header == AUTHORIZATION || header.as_str() == X_AMZ_SECURITY_TOKEN);
        add.push((header, value));
    }
    for (header, value) in add {
        req.headers_mut().insert(header, value);
    }
    Ok(())
}

/// Sets `host` from the URI when the request has none; aws-sigv4 would panic without either.
pub(super) fn ensure_host(req: &mut http::Request<Vec<u8>>) -> Result<(), WireError> {
    if req.headers().contains_key(HOST) {
        return Ok(());
    }
    let value = host_header(req.uri())?;
    req.headers_mut().insert(HOST, value);
    Ok(())
}

/// The `host` header of a request to `uri`: its authority, without the scheme's default port.
pub(crate) fn host_header(uri: &http::Uri) -> Result<HeaderValue, WireError> {
    let no_host = || WireError::NoHost { uri: uri.to_string() };
    let authority = uri.authority().ok_or_else(no_host)?;
    let default_port = matches!(
        (uri.scheme_str(), authority.port_u16()),
        (_, None) | (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    // Same rule as aws-sigv4 and hyper: a default port is left out of Host.
    let value = if default_port { authority.host() } else { authority.as_str() };
    HeaderValue::from_str(value).map_err(|_| no_host())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// 2015-08-30T12:36:00Z, the AWS SigV4 test suite's time.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn suite_creds(token: Option<&str>) -> Credentials {
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token.map(str::to_owned))
    }

    fn header<'a>(req: &'a http::Request<Vec<u8>>, name: &str) -> &'a str {
        req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {name} missing"))
    }

    fn get_vanilla(with_host: bool) -> http::Request<Vec<u8>> {
        let mut b = http::Request::get("https://example.amazonaws.com/");
        if with_host {
            b = b.header("host", "example.amazonaws.com");
        }
        b.body(Vec::new()).expect("valid request")
    }

    // aws-signing-test-suite/v4/get-vanilla (shipped in the aws-sigv4 crate).
    #[test]
    fn suite_get_vanilla() {
        for with_host in [true, false] {
            let mut req = get_vanilla(with_host);
            sign(&mut req, &suite_creds(None), "us-east-1", "service", suite_time()).expect("signs");
            assert_eq!(
                header(&req, "authorization"),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            );
            assert_eq!(header(&req, "x-amz-date"), "20150830T123600Z");
            assert_eq!(header(&req, "host"), "example.amazonaws.com");
            assert!(req.headers().get("x-amz-security-token").is_none());
        }
    }

    // aws-signing-test-suite/v4/get-vanilla-with-session-token.
    #[test]
    fn suite_get_vanilla_with_session_token() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let mut req = get_vanilla(true);
        sign(&mut req, &suite_creds(Some(token)), "us-east-1", "service", suite_time()).expect("signs");
        assert_eq!(
            header(&req, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-security-token, \
             Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        );
        assert_eq!(header(&req, "x-amz-security-token"), token);
        assert!(req.headers()["x-amz-security-token"].is_sensitive());
        assert!(req.headers()["authorization"].is_sensitive());
    }

    // aws-signing-test-suite/v4/post-x-www-form-urlencoded; its context has `sign_body: true`,
    // i.e. an x-amz-content-sha256 header, hence `sign_with`.
    #[test]
    fn suite_post_x_www_form_urlencoded() {
        let mut req = http::Request::post("https://example.amazonaws.com/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "example.amazonaws.com")
            .header("content-length", "13")
            .body(b"Param1=value1".to_vec())
            .expect("valid request");
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        sign_with(&mut req, &suite_creds(None), "us-east-1", "service", suite_time(), settings).expect("signs");
        assert_eq!(
            header(&req, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
             Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        );
        assert_eq!(
            header(&req, "x-amz-content-sha256"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
    }

    fn ec2_post(body: &str) -> http::Request<Vec<u8>> {
        http::Request::post("http://127.0.0.1:5000/")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.as_bytes().to_vec())
            .expect("valid request")
    }

    #[test]
    fn ec2_form_post_is_deterministic_and_body_bound() {
        let sig = |body: &str| {
            let mut req = ec2_post(body);
            sign(&mut req, &Credentials::dummy(), "us-east-1", "ec2", suite_time()).expect("signs");
            header(&req, "authorization").to_owned()
        };
        let a = sig("Action=CopyImage&Version=2016-11-15&Name=a");
        assert_eq!(a, sig("Action=CopyImage&Version=2016-11-15&Name=a"));
        assert_ne!(a, sig("Action=CopyImage&Version=2016-11-15&Name=b"));
        assert!(
            a.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/ec2/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{a}"
        );
    }

    #[test]
    fn host_keeps_non_default_port_and_existing_header() {
        let mut req = ec2_post("x");
        sign(&mut req, &Credentials::dummy(), "us-east-1", "ec2", suite_time()).expect("signs");
        assert_eq!(header(&req, "host"), "127.0.0.1:5000");

        let mut req = ec2_post("x");
        req.headers_mut().insert(HOST, HeaderValue::from_static("ec2.eu-west-1.amazonaws.com"));
        sign(&mut req, &Credentials::dummy(), "us-east-1", "ec2", suite_time()).expect("signs");
        assert_eq!(header(&req, "host"), "ec2.eu-west-1.amazonaws.com");
    }

    #[test]
    fn resigning_replaces_the_signature() {
        let mut once = get_vanilla(true);
        sign(&mut once, &suite_creds(None), "us-east-1", "service", suite_time()).expect("signs");
        let mut twice = get_vanilla(true);
        sign(&mut twice, &suite_creds(Some("tok")), "us-east-1", "service", UNIX_EPOCH).expect("signs");
        sign(&mut twice, &suite_creds(None), "us-east-1", "service", suite_time()).expect("signs");
        assert_eq!(once.headers(), twice.headers());
    }

    #[test]
    fn errors_instead_of_panics() {
        let mut req = http::Request::post("/").body(Vec::new()).expect("valid request");
        let err = sign(&mut req, &Credentials::dummy(), "us-east-1", "ec2", suite_time());
        assert!(matches!(err, Err(WireError::NoHost { .. })), "{err:?}");

        let mut req = ec2_post("x");
        let creds = Credentials::new("AKID", "secret", Some("bad\ntoken".to_owned()));
        let err = sign(&mut req, &creds, "us-east-1", "ec2", suite_time());
        assert!(err.is_err(), "{err:?}");

        let mut req = ec2_post("x");
        req.headers_mut().insert("x-odd", HeaderValue::from_bytes(b"caf\xc3\xa9").expect("obs-text allowed"));
        let err = sign(&mut req, &Credentials::dummy(), "us-east-1", "ec2", suite_time());
        assert!(matches!(err, Err(WireError::HeaderNotText { .. })), "{err:?}");
    }

    #[test]
    fn debug_hides_secret_and_token() {
        let c = Credentials::new("AKIDVISIBLE", "s3cr3t-value", Some("t0k3n-value".to_owned()));
        let d = format!("{c:?} {c:#?}");
        assert!(d.contains("AKIDVISIBLE"));
        assert!(d.contains("***"));
        assert!(!d.contains("s3cr3t-value") && !d.contains("t0k3n-value"), "{d}");
        assert_eq!(c.access_key_id(), "AKIDVISIBLE");
        assert!(c.has_session_token());
        assert!(!format!("{:?}", Credentials::dummy()).contains("EXAMPLEKEY"));
    }

    /// A temp file removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> Self {
            let path = std::env::temp_dir().join(format!("copyimage-wire-{}-{name}", std::process::id()));
            std::fs::write(&path, text).expect("write temp file");
            Self(path)
        }

        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn lookup(vars: &[(&str, &str)]) -> Result<Option<Credentials>, WireError> {
        let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Credentials::from_env(&move |k| map.get(k).cloned())
    }

    const INI: &str = "\
# comment
; another comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secretdefault
region = us-east-1
s3 =
    max_concurrent_requests = 10

[dev]
AWS_ACCESS_KEY_ID = AKIDDEV
aws_secret_access_key = secret dev  
aws_session_token = tokdev

[half]
aws_access_key_id = AKIDHALF

[empty]
";

    #[test]
    fn env_keys_win() {
        let c = lookup(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "secretenv"),
            ("AWS_SESSION_TOKEN", "tokenv"),
            ("AWS_PROFILE", "nope"),
        ])
        .expect("ok")
        .expect("found");
        assert_eq!(c, Credentials::new("AKIDENV", "secretenv", Some("tokenv".to_owned())));

        let c = lookup(&[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "S"), ("AWS_SESSION_TOKEN", "")])
            .expect("ok")
            .expect("found");
        assert!(!c.has_session_token());
    }

    #[test]
    fn half_env_pair_is_an_error() {
        let err = lookup(&[("AWS_ACCESS_KEY_ID", "AKIDENV")]).expect_err("half pair");
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        let err = lookup(&[("AWS_SECRET_ACCESS_KEY", "s")]).expect_err("half pair");
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn profiles_from_file() {
        let f = TempFile::new("profiles", INI);
        let c = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path())]).expect("ok").expect("found");
        assert_eq!(c, Credentials::new("AKIDDEFAULT", "secretdefault", None));

        let c =
            lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path()), ("AWS_PROFILE", "dev")]).expect("ok").expect("found");
        assert_eq!(c, Credentials::new("AKIDDEV", "secret dev", Some("tokdev".to_owned())));
    }

    #[test]
    fn home_default_path() {
        let home = std::env::temp_dir().join(format!("copyimage-wire-{}-home", std::process::id()));
        let dir = home.join(".aws");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("credentials"), INI).expect("write");
        let h = home.display().to_string();
        let c = lookup(&[("HOME", &h), ("AWS_PROFILE", "dev")]).expect("ok").expect("found");
        assert_eq!(c.access_key_id(), "AKIDDEV");
        let _ = std::fs::remove_dir_all(&home);
        // HOME without a credentials file and nothing asked for: nothing found.
        assert_eq!(lookup(&[("HOME", &h)]).expect("ok"), None);
    }

    #[test]
    fn nothing_configured_is_none() {
        assert_eq!(lookup(&[]).expect("ok"), None);
        let f = TempFile::new("nodefault", "[other]\naws_access_key_id=a\naws_secret_access_key=b\n");
        assert_eq!(lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path())]).expect("ok"), None);
    }

    #[test]
    fn named_profile_missing_names_file_and_profile() {
        let f = TempFile::new("missing", INI);
        let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path()), ("AWS_PROFILE", "prod")])
            .expect_err("missing profile");
        let msg = err.to_string();
        assert!(msg.contains("`prod`") && msg.contains(&f.path()), "{msg}");
    }

    #[test]
    fn incomplete_profile_names_file_line_and_key() {
        let f = TempFile::new("incomplete", INI);
        for (profile, line) in [("half", 15), ("empty", 18)] {
            let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path()), ("AWS_PROFILE", profile)])
                .expect_err("incomplete");
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("{}:{line}: ", f.path())), "{msg}");
            assert!(msg.contains(&format!("`{profile}`")), "{msg}");
        }
        let err =
            lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path()), ("AWS_PROFILE", "half")]).expect_err("incomplete");
        assert!(err.to_string().contains("aws_secret_access_key"), "{err}");
    }

    #[test]
    fn missing_file_errors_only_when_asked_for() {
        let path =
            std::env::temp_dir().join(format!("copyimage-wire-{}-absent", std::process::id())).display().to_string();
        let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &path)]).expect_err("asked");
        assert!(err.to_string().contains(&path), "{err}");
        let err = lookup(&[("AWS_PROFILE", "dev")]).expect_err("no HOME, no file");
        assert!(matches!(err, WireError::NoCredentialsPath { .. }), "{err:?}");
    }

    #[test]
    fn syntax_errors_name_file_and_line_not_text() {
        let f = TempFile::new("syntax", "[default]\naws_access_key_id = A\nAKIDLEAKED secret\n");
        let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path())]).expect_err("syntax");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{}:3: ", f.path())), "{msg}");
        assert!(!msg.contains("LEAKED"), "{msg}");

        let f = TempFile::new("nosection", "aws_access_key_id = A\n");
        let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path())]).expect_err("syntax");
        assert!(err.to_string().starts_with(&format!("{}:1: ", f.path())), "{err}");

        let f = TempFile::new("header", "[default\n");
        let err = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", &f.path())]).expect_err("syntax");
        assert!(err.to_string().contains(":1: section header"), "{err}");
    }
}
