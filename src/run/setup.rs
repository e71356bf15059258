//! `setup`: makes the source images a run needs on the endpoint itself, then builds the world
//! from what the endpoint reports about them.
//!
//! Every image is read back with `DescribeImages`, and the world records that answer, never
//! what was asked for: an emulator that ignores a block-device mapping yields an unencrypted
//! image, which gets the role `encrypted-requested` rather than `encrypted`. All calls speak
//! ec2Query, whatever the target's dialect.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quick_xml::events::{BytesStart, Event};

use crate::run::Target;
use crate::run::discover::parse_images;
use crate::run::send::describe as describe_error;
use crate::wire::{self, Reply};
use crate::world::{Image, ImageState, Params, World};

/// The EC2 API version every call names.
/// How many leading bytes of an unexpected answer an error shows.
const HEAD_LEN: usize = 200;
/// How long a volume, snapshot or image may stay in a transitional state.
const WAIT_LIMIT: Duration = Duration::from_secs(300);
/// The first pause between polls; it doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(500);
/// The longest pause between polls.
const POLL_MAX: Duration = Duration::from_secs(5);
/// moto's global default image (Amazon Linux HVM x86_64), present in every Region there.
const PUBLIC_DEFAULT_ID: &str = "ami-760aaa0f";

const ROLE_PLAIN: &str = "plain";
const ROLE_ENCRYPTED: &str = "encrypted";
const ROLE_ENCRYPTED_REQUESTED: &str = "encrypted-requested";
const ROLE_OTHER_REGION: &str = "other-region";
const ROLE_DEREGISTERED: &str = "deregistered";
const ROLE_DEREGISTERED_REQUESTED: &str = "deregistered-requested";
const ROLE_PUBLIC_DEFAULT: &str = "public-default";

/// Why the endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A call failed, or its answer lacks what the call promises.
    #[error("{action} on {endpoint}: {detail}")]
    Call {
        /// The API call, e.g. `RegisterImage`.
        action: String,
        /// The endpoint asked.
        endpoint: String,
        /// The HTTP status, if an answer came.
        status: Option<u16>,
        /// The error code of an EC2 error answer, e.g. `InvalidAMIID.NotFound`.
        code: Option<String>,
        /// What went wrong: the endpoint's code and message, or the status and the answer's
        /// first bytes, or the transport error.
        detail: String,
    },
    /// The second Region is the destination Region, so no image would be elsewhere.
    #[error("the second Region must differ from the destination Region {region}")]
    SameRegion {
        /// The Region given twice.
        region: String,
    },
    /// The world file could not be written.
    #[error("cannot write the world to {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SetupError {
    fn call(target: &Target, action: &str, detail: String) -> Self {
        SetupError::Call {
            action: action.to_owned(),
            endpoint: target.endpoint.clone(),
            status: None,
            code: None,
            detail,
        }
    }

    /// The endpoint's error code, for a call it answered with an EC2 error.
    fn code(&self) -> Option<&str> {
        match self {
            SetupError::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// Creates (or finds) source images on the endpoint and returns the world describing them,
/// with `target.region` as the destination Region and `account` as the caller's account.
///
/// Each image carries a role:
/// - `plain`: registered by name in `target.region`, available and unencrypted;
/// - `encrypted`, or `encrypted-requested` when the endpoint reports it unencrypted: registered
///   over a snapshot of an encrypted volume;
/// - `other-region`: registered in `second_region` (signed for that Region);
/// - `deregistered` (`deregistered-requested` if the endpoint still reports another state):
///   registered, then deregistered;
/// - `public-default`: `ami-760aaa0f`, only if the endpoint has it (moto does).
///
/// Any failed call, including one that answers without the id it should return, ends setup
/// with a [`SetupError`] naming the call; only the public default image is optional. Meant for
/// emulators: real AWS refuses a `RegisterImage` without a snapshot or image location, and its
/// endpoint URL names one Region, so a call signed for another one fails there.
pub async fn setup(target: &Target, account: &str, second_region: &str) -> Result<World, SetupError> {
    let region = target.region.as_str();
    if second_region == region {
        return Err(SetupError::SameRegion { region: region.to_owned() });
    }
    let tag = unique_tag();
    let plain = register(target, region, &format!("conformance-plain-{tag}"), Params::new()).await?;
    let encrypted = register_encrypted(target, region, &format!("conformance-encrypted-{tag}")).await?;
    let other = register(target, second_region, &format!("conformance-other-region-{tag}"), Params::new()).await?;
    let gone = register(target, region, &format!("conformance-deregistered-{tag}"), Params::new()).await?;
    call(target, region, "DeregisterImage", &Params::from([("ImageId".to_owned(), gone.clone())])).await?;

    let mut here = describe_settled(target, region, &[plain.as_str(), encrypted.as_str()]).await?;
    let mut there = describe_settled(target, second_region, &[other.as_str()]).await?;
    let mut images = Vec::with_capacity(5);

    let mut img = take(&mut here, &plain).ok_or_else(|| not_listed(target, &plain))?;
    if img.state != ImageState::Available || img.encrypted {
        let detail = format!(
            "the plain image {plain} is reported {}{}, not an available unencrypted image",
            state_name(img.state),
            if img.encrypted { " and encrypted" } else { "" }
        );
        return Err(SetupError::call(target, "DescribeImages", detail));
    }
    img.role = Some(ROLE_PLAIN.into());
    images.push(img);

    let mut img = take(&mut here, &encrypted).ok_or_else(|| not_listed(target, &encrypted))?;
    img.role = Some(if img.encrypted { ROLE_ENCRYPTED } else { ROLE_ENCRYPTED_REQUESTED }.into());
    images.push(img);

    let mut img = take(&mut there, &other).ok_or_else(|| not_listed(target, &other))?;
    img.role = Some(ROLE_OTHER_REGION.into());
    images.push(img);

    let img = match describe_optional(target, region, &gone).await? {
        Some(mut img) => {
            let gone_for_sure = img.state == ImageState::Deregistered;
            img.role = Some(if gone_for_sure { ROLE_DEREGISTERED } else { ROLE_DEREGISTERED_REQUESTED }.into());
            img
        }
        // moto no longer lists a deregistered image.
        None => {
            Image { state: ImageState::Deregistered, role: Some(ROLE_DEREGISTERED.into()), ..Image::new(&gone, region) }
        }
    };
    images.push(img);

    // Optional: any failure here only means the endpoint does not have it.
    if let Ok(Some(mut img)) = describe_optional(target, region, PUBLIC_DEFAULT_ID).await {
        img.role = Some(ROLE_PUBLIC_DEFAULT.into());
        images.push(img);
    }
    Ok(World::new(region, account, images))
}

/// Writes `world` as pretty JSON (the format `--world` reads), ending in a newline.
pub fn write_world(world: &World, path: &Path) -> Result<(), SetupError> {
    let write_err = |source: std::io::Error| SetupError::Write { path: path.to_owned(), source };
    let mut text = serde_json::to_string_pretty(world).map_err(|e| write_err(e.into()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(write_err)
}

/// A suffix that keeps this run's image names apart from earlier runs' (AWS rejects a name the
/// account already uses in the Region).
fn unique_tag() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// `RegisterImage` with `Name` plus `extra` in `region`; returns the new image id.
async fn register(target: &Target, region: &str, name: &str, mut extra: Params) -> Result<String, SetupError> {
    extra.insert("Name".into(), name.to_owned());
    extra.insert("Description".into(), "copyimage-conformance setup".into());
    let answer = call(target, region, "RegisterImage", &extra).await?;
    answer_field(target, "RegisterImage", &answer, "imageId")
}

/// An encrypted 8 GiB volume, a snapshot of it, and an image registered over the snapshot.
async fn register_encrypted(target: &Target, region: &str, name: &str) -> Result<String, SetupError> {
    let params = Params::from([
        ("Encrypted".to_owned(), "true".to_owned()),
        ("Size".to_owned(), "8".to_owned()),
        ("AvailabilityZone".to_owned(), format!("{region}a")),
    ]);
    let answer = call(target, region, "CreateVolume", &params).await?;
    let volume = answer_field(target, "CreateVolume", &answer, "volumeId")?;
    wait_ready(target, region, &VOLUME, &volume, answer_state(&answer, "CreateVolume")).await?;

    let params = Params::from([
        ("VolumeId".to_owned(), volume),
        ("Description".to_owned(), "copyimage-conformance setup".to_owned()),
    ]);
    let answer = call(target, region, "CreateSnapshot", &params).await?;
    let snapshot = answer_field(target, "CreateSnapshot", &answer, "snapshotId")?;
    wait_ready(target, region, &SNAPSHOT, &snapshot, answer_state(&answer, "CreateSnapshot")).await?;

    let extra = Params::from([
        ("Architecture".to_owned(), "x86_64".to_owned()),
        ("VirtualizationType".to_owned(), "hvm".to_owned()),
        ("RootDeviceName".to_owned(), "/dev/xvda".to_owned()),
        ("BlockDeviceMapping.1.DeviceName".to_owned(), "/dev/xvda".to_owned()),
        ("BlockDeviceMapping.1.Ebs.SnapshotId".to_owned(), snapshot),
    ]);
    register(target, region, name, extra).await
}

/// A resource that starts in a transitional state, and how to poll it.
struct Pollable {
    /// The describe call.
    action: &'static str,
    /// Its id parameter.
    id_param: &'static str,
    /// The answer's list element.
    set: &'static str,
    /// The state in which the resource can be used.
    ready: &'static str,
}

const VOLUME: Pollable =
    Pollable { action: "DescribeVolumes", id_param: "VolumeId.1", set: "volumeSet", ready: "available" };
const SNAPSHOT: Pollable =
    Pollable { action: "DescribeSnapshots", id_param: "SnapshotId.1", set: "snapshotSet", ready: "completed" };

/// The `status` a create call's answer gives, if any.
fn answer_state(answer: &[u8], action: &str) -> Option<String> {
    let root = format!("{action}Response");
    text_at(answer, &[&root, "status"]).ok().flatten()
}

/// Polls until the resource is ready, starting from the state its create call reported.
async fn wait_ready(
    target: &Target,
    region: &str,
    what: &Pollable,
    id: &str,
    mut state: Option<String>,
) -> Result<(), SetupError> {
    let started = Instant::now();
    let mut pause = POLL_FIRST;
    let root = format!("{}Response", what.action);
    loop {
        match state.as_deref() {
            Some(s) if s == what.ready => return Ok(()),
            Some("error") => {
                return Err(SetupError::call(target, what.action, format!("{id} is in state error")));
            }
            _ if started.elapsed() >= WAIT_LIMIT => {
                let s = state.as_deref().unwrap_or("unknown");
                let detail = format!("{id} is still {s} after {} s", WAIT_LIMIT.as_secs());
                return Err(SetupError::call(target, what.action, detail));
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX);
        let answer =
            call(target, region, what.action, &Params::from([(what.id_param.to_owned(), id.to_owned())])).await?;
        let found = text_at(&answer, &[&root, what.set, "item", "status"])
            .map_err(|e| SetupError::call(target, what.action, e))?;
        let Some(found) = found else {
            let detail = format!("the answer has no status for {id}: {}", head(&answer));
            return Err(SetupError::call(target, what.action, detail));
        };
        state = Some(found);
    }
}

/// `DescribeImages` for `ids` in `region`, polled while any of them is pending; every id must
/// be listed.
async fn describe_settled(target: &Target, region: &str, ids: &[&str]) -> Result<Vec<Image>, SetupError> {
    let started = Instant::now();
    let mut pause = POLL_FIRST;
    loop {
        let images = describe(target, region, ids).await?;
        if let Some(id) = ids.iter().find(|id| !images.iter().any(|i| i.image_id == **id)) {
            return Err(not_listed(target, id));
        }
        let pending = images.iter().any(|i| i.state == ImageState::Pending);
        if !pending || started.elapsed() >= WAIT_LIMIT {
            return Ok(images);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// `DescribeImages` for one id that may be gone: not listed, or `InvalidAMIID.NotFound` or
/// `.Unavailable`, is `None`.
async fn describe_optional(target: &Target, region: &str, id: &str) -> Result<Option<Image>, SetupError> {
    match describe(target, region, &[id]).await {
        Ok(mut images) => Ok(take(&mut images, id)),
        Err(e) if matches!(e.code(), Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `DescribeImages` with `ImageId.N` for `ids`, read into images of `region`.
async fn describe(target: &Target, region: &str, ids: &[&str]) -> Result<Vec<Image>, SetupError> {
    let params: Params =
        ids.iter().enumerate().map(|(i, id)| (format!("ImageId.{}", i + 1), (*id).to_owned())).collect();
    let answer = call(target, region, "DescribeImages", &params).await?;
    parse_images(&answer, region).map_err(|e| SetupError::call(target, "DescribeImages", e))
}

/// Removes and returns the image with this id.
fn take(images: &mut Vec<Image>, id: &str) -> Option<Image> {
    let at = images.iter().position(|i| i.image_id == id)?;
    Some(images.remove(at))
}

fn not_listed(target: &Target, id: &str) -> SetupError {
    SetupError::call(target, "DescribeImages", format!("the answer does not list {id}"))
}

fn state_name(s: ImageState) -> &'static str {
    match s {
        ImageState::Available => "available",
        ImageState::Pending => "pending",
        ImageState::Failed => "failed",
        ImageState::Deregistered => "deregistered",
    }
}

/// Sends one ec2Query call signed for `region` and returns the body of its 2xx answer, whose
/// root must be `<{action}Response>`.
pub(super) async fn call(target: &Target, region: &str, action: &str, params: &Params) -> Result<Vec<u8>, SetupError> {
    let fail = |detail: String| SetupError::call(target, action, detail);
    let body = wire::form_body(action, &target.protocol.version, params);
    let form = [("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
    let req = super::send::build(target, region, &body, &form).map_err(fail)?;
    let req = reqwest::Request::try_from(req).map_err(|e| fail(format!("cannot build the request: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(target.timeout)
        .build()
        .map_err(|e| fail(format!("cannot build the HTTP client: {}", describe_error(&e))))?;
    let mut resp = client.execute(req).await.map_err(|e| fail(transport(&e, target.timeout)))?;
    let status = resp.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(transport(&e, target.timeout)))? {
        if bytes.len() + chunk.len() > target.max_body {
            return Err(fail(format!("HTTP {status}: answer larger than {} bytes", target.max_body)));
        }
        bytes.extend_from_slice(&chunk);
    }
    check_answer(action, status, &bytes).map_err(|(code, detail)| SetupError::Call {
        action: action.to_owned(),
        endpoint: target.endpoint.clone(),
        status: Some(status),
        code,
        detail,
    })?;
    Ok(bytes)
}

fn transport(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() { format!("timed out after {timeout:?}") } else { describe_error(e) }
}

/// Whether an answer is a success of `action`; if not, the EC2 error code (when there is one)
/// and a one-line account of the answer.
fn check_answer(action: &str, status: u16, body: &[u8]) -> Result<(), (Option<String>, String)> {
    if !(200..300).contains(&status) {
        return Err(match wire::decode_xml(status, body) {
            Reply::Error { code, message: Some(m), .. } if !m.is_empty() => {
                let detail = format!("HTTP {status} {code}: {m}");
                (Some(code), detail)
            }
            Reply::Error { code, .. } => {
                let detail = format!("HTTP {status} {code}");
                (Some(code), detail)
            }
            _ => (None, format!("HTTP {status}: {}", head(body))),
        });
    }
    let expected = format!("{action}Response");
    match root_name(body) {
        Ok(root) if root == expected => Ok(()),
        Ok(root) => Err((None, format!("HTTP {status} with <{root}>, not <{expected}>: {}", head(body)))),
        Err(e) => Err((None, format!("HTTP {status}, {e}: {}", head(body)))),
    }
}

/// The answer's first bytes on one line, for error messages.
fn head(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(HEAD_LEN)]);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if body.len() > HEAD_LEN { format!("{one_line}…") } else { one_line }
}

/// The text of a field that a create call's answer must carry, e.g. `imageId`.
fn answer_field(target: &Target, action: &str, answer: &[u8], field: &str) -> Result<String, SetupError> {
    let root = format!("{action}Response");
    match text_at(answer, &[&root, field]) {
        Ok(Some(v)) if !v.is_empty() => Ok(v),
        Ok(_) => Err(SetupError::call(target, action, format!("the answer has no <{field}>: {}", head(answer)))),
        Err(e) => Err(SetupError::call(target, action, e)),
    }
}

/// An element's name without its namespace prefix.
fn local_name(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    let name: &str = name.as_ref();
    name.to_owned()
}

/// The local name of the document's root element.
fn root_name(xml: &[u8]) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = vec![];
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("unreadable XML: {e}")),
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return Ok(local_name(&e));
            }
            Ok(Event::Eof) => return Err("no root element".into()),
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// The trimmed text of the first element whose path of local names, from the root, is `path`
/// (namespaces and prefixes ignored). `Ok(None)` if there is none; `Err` for broken XML.
fn text_at(xml: &[u8], path: &[&str]) -> Result<Option<String>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut at: Vec<String> = vec![];
    let mut text: Option<String> = None;
    let mut buf = vec![];
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("unreadable XML at byte {}: {e}", reader.error_position())),
            Ok(Event::Eof) => return Ok(None),
            Ok(Event::Start(e)) => {
                at.push(local_name(&e));
                if at.iter().map(String::as_str).eq(path.iter().copied()) {
                    text = Some(String::new());
                }
            }
            Ok(Event::Empty(e)) => {
                let name = local_name(&e);
                let depth_ok = at.len() + 1 == path.len();
                if depth_ok && at.iter().map(String::as_str).chain([name.as_str()]).eq(path.iter().copied()) {
                    return Ok(Some(String::new()));
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(s) = text.as_mut().filter(|_| at.len() == path.len()) {
                    s.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(s) = text.as_mut().filter(|_| at.len() == path.len()) {
                    s.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(s) = text.as_mut().filter(|_| at.len() == path.len()) {
                    s.push_str(&wire::decode::resolve_ref(&r));
                }
            }
            Ok(Event::End(_)) => {
                if at.len() == path.len()
                    && let Some(s) = text.take()
                {
                    return Ok(Some(s.trim().to_owned()));
                }
                at.pop();
            }
            Ok(_) => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests;
