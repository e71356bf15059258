//! `setup`: makes the source images a run needs on the endpoint itself, then builds the world
//! from what the endpoint reports about them.
//!
//! Every image is read back with `DescribeImages`, and the world records that answer, never
//! what was asked for: an emulator that ignores a block-device mapping yields an unencrypted
//! image, which gets the role `encrypted-requested` rather than `encrypted`. All calls speak
//! ec2Query, whatever the target's dialect.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::run::Target;
use crate::run::ec2::{CallError, Ec2Client, error_chain, head};
use crate::run::journal::TAG_KEY;
use crate::wire::xml_path::text_at;
use crate::world::{Image, ImageState, Params, World};

/// How long a volume, snapshot or image may stay in a transitional state.
const WAIT_LIMIT: Duration = Duration::from_secs(300);
/// The first pause between polls; it doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(500);
/// The longest pause between polls.
const POLL_MAX: Duration = Duration::from_secs(5);
/// moto's global default image (Amazon Linux HVM x86_64), present in every Region there.
const PUBLIC_DEFAULT_ID: &str = "ami-760aaa0f";

/// The calls that create a resource: each spends one unit of the run's creation budget on AWS.
const CREATES: [&str; 3] = ["RegisterImage", "CreateVolume", "CreateSnapshot"];
/// How many of them a whole setup makes: four images, one volume, one snapshot.
const SETUP_CREATES: u64 = 6;

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
    /// Real AWS: the run's creation budget is spent before a call that creates a resource.
    #[error(
        "{action} not sent: --setup creates resources on AWS, and the creation budget (--max-creates {max}) is spent; setup needs {SETUP_CREATES} units"
    )]
    Budget {
        /// The call that was not sent, e.g. `CreateSnapshot`.
        action: String,
        /// The budget.
        max: u64,
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

    fn from_call(target: &Target, action: &str, e: CallError) -> Self {
        SetupError::Call {
            action: action.to_owned(),
            endpoint: target.endpoint.clone(),
            status: e.status,
            code: e.code,
            detail: e.detail,
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
    let c = Ec2Client::new(target).map_err(|e| {
        SetupError::call(target, "RegisterImage", format!("cannot build the HTTP client: {}", error_chain(&e)))
    })?;
    let c = &c;
    let tag = unique_tag();
    let plain = register(c, region, &format!("conformance-plain-{tag}"), Params::new()).await?;
    let encrypted = register_encrypted(c, region, &format!("conformance-encrypted-{tag}")).await?;
    let other = register(c, second_region, &format!("conformance-other-region-{tag}"), Params::new()).await?;
    let gone = register(c, region, &format!("conformance-deregistered-{tag}"), Params::new()).await?;
    call(c, region, "DeregisterImage", &Params::from([("ImageId".to_owned(), gone.clone())])).await?;

    let mut here = describe_settled(c, region, &[plain.as_str(), encrypted.as_str()]).await?;
    let mut there = describe_settled(c, second_region, &[other.as_str()]).await?;
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

    let img = match describe_optional(c, region, &gone).await? {
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
    if let Ok(Some(mut img)) = describe_optional(c, region, PUBLIC_DEFAULT_ID).await {
        img.role = Some(ROLE_PUBLIC_DEFAULT.into());
        images.push(img);
    }
    Ok(World::new(region, account, images))
}

/// Writes `world` as pretty JSON (the format `--world` reads), ending in a newline.
#[cfg(test)]
pub fn write_world(world: &World, path: &std::path::Path) -> Result<(), SetupError> {
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
async fn register(c: &Ec2Client<'_>, region: &str, name: &str, mut extra: Params) -> Result<String, SetupError> {
    extra.insert("Name".into(), name.to_owned());
    extra.insert("Description".into(), "copyimage-conformance setup".into());
    let answer = call(c, region, "RegisterImage", &extra).await?;
    let id = answer_field(c.target(), "RegisterImage", &answer, "imageId")?;
    if let Some(journal) = &c.target().safety.journal {
        // moto drops RegisterImage's TagSpecification (emulators.md §1) but keeps CreateTags, so
        // the image is tagged again: `cleanup` finds it by the tag even if the journal lost the
        // RegisterImage's result.
        let tags = Params::from([
            ("ResourceId.1".to_owned(), id.clone()),
            ("Tag.1.Key".to_owned(), TAG_KEY.to_owned()),
            ("Tag.1.Value".to_owned(), journal.run_id().to_owned()),
        ]);
        call(c, region, "CreateTags", &tags).await?;
    }
    Ok(id)
}

/// An encrypted 8 GiB volume, a snapshot of it, and an image registered over the snapshot.
async fn register_encrypted(c: &Ec2Client<'_>, region: &str, name: &str) -> Result<String, SetupError> {
    let target = c.target();
    let params = Params::from([
        ("Encrypted".to_owned(), "true".to_owned()),
        ("Size".to_owned(), "8".to_owned()),
        ("AvailabilityZone".to_owned(), format!("{region}a")),
    ]);
    let answer = call(c, region, "CreateVolume", &params).await?;
    let volume = answer_field(target, "CreateVolume", &answer, "volumeId")?;
    wait_ready(c, region, &VOLUME, &volume, answer_state(&answer, "CreateVolume")).await?;

    let params = Params::from([
        ("VolumeId".to_owned(), volume),
        ("Description".to_owned(), "copyimage-conformance setup".to_owned()),
    ]);
    let answer = call(c, region, "CreateSnapshot", &params).await?;
    let snapshot = answer_field(target, "CreateSnapshot", &answer, "snapshotId")?;
    wait_ready(c, region, &SNAPSHOT, &snapshot, answer_state(&answer, "CreateSnapshot")).await?;

    let extra = Params::from([
        ("Architecture".to_owned(), "x86_64".to_owned()),
        ("VirtualizationType".to_owned(), "hvm".to_owned()),
        ("RootDeviceName".to_owned(), "/dev/xvda".to_owned()),
        ("BlockDeviceMapping.1.DeviceName".to_owned(), "/dev/xvda".to_owned()),
        ("BlockDeviceMapping.1.Ebs.SnapshotId".to_owned(), snapshot),
    ]);
    register(c, region, name, extra).await
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
    c: &Ec2Client<'_>,
    region: &str,
    what: &Pollable,
    id: &str,
    mut state: Option<String>,
) -> Result<(), SetupError> {
    let target = c.target();
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
        let answer = call(c, region, what.action, &Params::from([(what.id_param.to_owned(), id.to_owned())])).await?;
        let found = text_at(&answer, &[&root, what.set, "item", "status"])
            .map_err(|e| SetupError::call(target, what.action, e.to_string()))?;
        let Some(found) = found else {
            let detail = format!("the answer has no status for {id}: {}", head(&answer));
            return Err(SetupError::call(target, what.action, detail));
        };
        state = Some(found);
    }
}

/// `DescribeImages` for `ids` in `region`, polled while any of them is pending; every id must
/// be listed.
async fn describe_settled(c: &Ec2Client<'_>, region: &str, ids: &[&str]) -> Result<Vec<Image>, SetupError> {
    let target = c.target();
    let started = Instant::now();
    let mut pause = POLL_FIRST;
    loop {
        let images = describe(c, region, ids).await?;
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
async fn describe_optional(c: &Ec2Client<'_>, region: &str, id: &str) -> Result<Option<Image>, SetupError> {
    match describe(c, region, &[id]).await {
        Ok(mut images) => Ok(take(&mut images, id)),
        Err(e) if matches!(e.code(), Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `DescribeImages` with `ImageId.N` for `ids`, read into images of `region`.
async fn describe(c: &Ec2Client<'_>, region: &str, ids: &[&str]) -> Result<Vec<Image>, SetupError> {
    c.describe_images(region, ids).await.map_err(|e| SetupError::from_call(c.target(), "DescribeImages", e))
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

/// One ec2Query call through the client; a failure names the call. A call that creates a
/// resource first takes a unit of the creation budget, and is not sent when it is spent.
async fn call(c: &Ec2Client<'_>, region: &str, action: &str, params: &Params) -> Result<Vec<u8>, SetupError> {
    let safety = &c.target().safety;
    if CREATES.contains(&action) && !safety.try_spend() {
        return Err(SetupError::Budget { action: action.to_owned(), max: safety.max_creates });
    }
    if let (Some(journal), Some(rt)) = (&safety.journal, tagged_type(action)) {
        // Journaled runs tag what they create with the run id, for `cleanup`.
        let mut tagged = params.clone();
        journal.tag(&mut tagged, &[rt]);
        return c.call(region, action, &tagged).await.map_err(|e| SetupError::from_call(c.target(), action, e));
    }
    c.call(region, action, params).await.map_err(|e| SetupError::from_call(c.target(), action, e))
}

/// The resource type a create call's TagSpecification names.
fn tagged_type(action: &str) -> Option<&'static str> {
    match action {
        "RegisterImage" => Some("image"),
        "CreateVolume" => Some("volume"),
        "CreateSnapshot" => Some("snapshot"),
        _ => None,
    }
}

/// The text of a field that a create call's answer must carry, e.g. `imageId`.
fn answer_field(target: &Target, action: &str, answer: &[u8], field: &str) -> Result<String, SetupError> {
    let root = format!("{action}Response");
    match text_at(answer, &[&root, field]) {
        Ok(Some(v)) if !v.is_empty() => Ok(v),
        Ok(_) => Err(SetupError::call(target, action, format!("the answer has no <{field}>: {}", head(answer)))),
        Err(e) => Err(SetupError::call(target, action, e.to_string())),
    }
}

#[cfg(test)]
mod tests;
