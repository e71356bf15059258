//! `cleanup`: undoes a journaled run. It deregisters the images the journal records (and the
//! images that carry the run's tag, for calls whose result the journal lost), then deletes
//! their snapshots and the journaled snapshots and volumes.
//!
//! It never touches a resource the journal does not name, except images DescribeImages
//! returns with the run's exact tag value, and the snapshots those tagged images are made of.
//! A resource already gone counts as done, so running it again is harmless.

use std::collections::BTreeSet;
use std::fmt;

use crate::run::Target;
use crate::run::ec2::{CallError, Ec2Client, error_chain};
use crate::run::journal::{Entry, Read, TAG_KEY};
use crate::wire::describe::{Text, read_xml};
use crate::world::Params;

/// The calls that make resources, with the id in their result that names what they made
/// (CreateSnapshot's answer also names its source volume, which it did not make).
const CREATES: [(&str, &str, Kind); 4] = [
    ("CopyImage", "ImageId", Kind::Image),
    ("RegisterImage", "ImageId", Kind::Image),
    ("CreateVolume", "VolumeId", Kind::Volume),
    ("CreateSnapshot", "SnapshotId", Kind::Snapshot),
];

/// The id name and kind of what `action` makes, if it makes something.
fn made_by(action: &str) -> Option<(&'static str, Kind)> {
    CREATES.iter().find(|(a, ..)| *a == action).map(|(_, name, kind)| (*name, *kind))
}
/// Error codes that mean the resource no longer exists.
const GONE: [&str; 4] =
    ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidSnapshot.NotFound", "InvalidVolume.NotFound"];

/// A kind of resource `cleanup` deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An AMI: deregistered.
    Image,
    /// An EBS snapshot: deleted.
    Snapshot,
    /// An EBS volume: deleted.
    Volume,
}

impl Kind {
    fn delete_call(self) -> (&'static str, &'static str) {
        match self {
            Kind::Image => ("DeregisterImage", "ImageId"),
            Kind::Snapshot => ("DeleteSnapshot", "SnapshotId"),
            Kind::Volume => ("DeleteVolume", "VolumeId"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Snapshot => "snapshot",
            Kind::Volume => "volume",
        }
    }
}

/// What became of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Deregistered or deleted now.
    Deleted,
    /// The endpoint no longer has it (an earlier cleanup, or it never came to be).
    AlreadyGone,
    /// The call failed; the resource may still exist.
    Failed(String),
}

/// One line of what `cleanup` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// The resource's kind.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// Its Region.
    pub region: String,
    /// What became of it.
    pub fate: Fate,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, id, region) = (self.kind.name(), &self.id, &self.region);
        match &self.fate {
            Fate::Deleted if self.kind == Kind::Image => write!(f, "deregistered {kind} {id} ({region})"),
            Fate::Deleted => write!(f, "deleted {kind} {id} ({region})"),
            Fate::AlreadyGone => write!(f, "{kind} {id} ({region}): already gone"),
            Fate::Failed(why) => write!(f, "{kind} {id} ({region}): FAILED: {why}"),
        }
    }
}

/// Why `cleanup` could not start.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// No HTTP client.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Looking for the run's tagged images failed, so some images may be left.
    #[error("DescribeImages of the images tagged {TAG_KEY}={run_id} in {region}: {source}")]
    TagSearch {
        /// The run id.
        run_id: String,
        /// The Region searched.
        region: String,
        /// Why.
        #[source]
        source: CallError,
    },
}

/// The resources of a journal, in the order they are deleted in.
#[derive(Debug, Default)]
struct Plan {
    /// (kind, id, region), without repeats.
    resources: Vec<(Kind, String, String)>,
    /// Regions with a create call whose result is not in the journal.
    unresolved: BTreeSet<String>,
}

impl Plan {
    fn add(&mut self, kind: Kind, id: &str, region: &str) {
        if !self.resources.iter().any(|(k, i, _)| *k == kind && i == id) {
            self.resources.push((kind, id.to_owned(), region.to_owned()));
        }
    }
}

/// What the journal says the run made, and where results are missing.
fn plan(journal: &Read) -> Plan {
    let mut plan = Plan::default();
    let mut intents: Vec<(u64, &str, &str)> = vec![];
    let mut answered: BTreeSet<u64> = BTreeSet::new();
    for entry in &journal.entries {
        match entry {
            Entry::Intent { seq, action, region, .. } => intents.push((*seq, action, region)),
            Entry::Result { seq, action, ids, .. } => {
                answered.insert(*seq);
                let region = intents.iter().find(|(s, ..)| s == seq).map_or(journal.region.as_str(), |i| i.2);
                if let Some((id, kind)) = made_by(action).and_then(|(name, kind)| Some((ids.get(name)?, kind))) {
                    plan.add(kind, id, region);
                }
            }
            Entry::Run { .. } => {}
        }
    }
    for (seq, action, region) in intents {
        if made_by(action).is_some() && !answered.contains(&seq) {
            plan.unresolved.insert(region.to_owned());
        }
    }
    plan
}

/// Deregisters and deletes what the journal's run made on `target`'s endpoint, telling each
/// resource's fate to `tell` as it goes. Resources that fail are told and skipped; the
/// returned list has every fate.
pub async fn cleanup(target: &Target, journal: &Read, tell: &mut dyn FnMut(&Done)) -> Result<Vec<Done>, CleanupError> {
    let c = Ec2Client::new(target).map_err(|e| CleanupError::Client(error_chain(&e)))?;
    let mut plan = plan(journal);
    for region in plan.unresolved.clone() {
        for id in tagged_images(&c, &region, &journal.run_id).await? {
            plan.add(Kind::Image, &id, &region);
        }
    }
    // A tagged image's snapshots are the run's too: they go after the image.
    let images: Vec<(String, String)> =
        plan.resources.iter().filter(|(k, ..)| *k == Kind::Image).map(|(_, i, r)| (i.clone(), r.clone())).collect();
    for (id, region) in &images {
        if let Some(snapshot) = tagged_snapshot(&c, region, id, &journal.run_id).await {
            plan.add(Kind::Snapshot, &snapshot, region);
        }
    }
    plan.resources.sort_by_key(|(k, ..)| *k);
    let mut done = vec![];
    for (kind, id, region) in plan.resources {
        let (action, param) = kind.delete_call();
        let fate = match c.call(&region, action, &Params::from([(param.to_owned(), id.clone())])).await {
            Ok(_) => Fate::Deleted,
            Err(e) if e.code.as_deref().is_some_and(|code| GONE.contains(&code)) => Fate::AlreadyGone,
            Err(e) => Fate::Failed(e.detail),
        };
        let line = Done { kind, id, region, fate };
        tell(&line);
        done.push(line);
    }
    Ok(done)
}

/// The images DescribeImages lists with the run's tag, keeping only those whose tag value is
/// exactly the run id (whatever the endpoint made of the filter).
async fn tagged_images(c: &Ec2Client<'_>, region: &str, run_id: &str) -> Result<Vec<String>, CleanupError> {
    let query = Params::from([
        ("Owner.1".to_owned(), "self".to_owned()),
        ("Filter.1.Name".to_owned(), format!("tag:{TAG_KEY}")),
        ("Filter.1.Value.1".to_owned(), run_id.to_owned()),
    ]);
    let search_error =
        |source| CleanupError::TagSearch { run_id: run_id.to_owned(), region: region.to_owned(), source };
    let answer = c.call(region, "DescribeImages", &query).await.map_err(search_error)?;
    let images = read_xml(&answer, Text::Verbatim).map_err(|e| search_error(CallError::other(None, e.to_string())))?;
    Ok(images.into_iter().filter(|i| i.tags.get(TAG_KEY).is_some_and(|v| v == run_id)).map(|i| i.image_id).collect())
}

/// The snapshot of image `id`, when DescribeImages shows the image with the run's tag.
async fn tagged_snapshot(c: &Ec2Client<'_>, region: &str, id: &str, run_id: &str) -> Option<String> {
    let answer = c.call(region, "DescribeImages", &Params::from([("ImageId.1".to_owned(), id.to_owned())])).await;
    let images = read_xml(&answer.ok()?, Text::Verbatim).ok()?;
    let image = images.into_iter().find(|i| i.image_id == id)?;
    image.tags.get(TAG_KEY).is_some_and(|v| v == run_id).then_some(image.snapshot_id).flatten()
}

#[cfg(test)]
mod tests;
