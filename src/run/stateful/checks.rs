//! The property checks on a described copy: the *_problem functions say, in a few words, how
//! the copy differs from what its request asked for, or nothing when it does not.

use std::collections::BTreeMap;

use super::script::clip;
use super::session::Session;
use super::shrink::tag_specs;
use super::trace::Made;
use crate::oracle::key;
use crate::wire::describe::DescribedImage;
use crate::world::Params;

impl Session<'_> {
    /// describe-name: the copy has the requested Name.
    pub(super) fn name_problem(&self, c: &Made, image: &DescribedImage) -> Option<String> {
        let want = c.params.get(key::NAME)?;
        match image.name.as_deref() {
            Some(got) if got == want => None,
            Some(got) => Some(format!("Name is {got:?}, not the requested {want:?}")),
            None => Some(format!("no Name; {want:?} was requested")),
        }
    }

    /// describe-description: the copy has the requested Description, when one was given.
    pub(super) fn description_problem(&self, c: &Made, image: &DescribedImage) -> Option<String> {
        let want = c.params.get(key::DESCRIPTION)?;
        // An empty element and no element both say "no description".
        let got = image.description.as_deref().unwrap_or("");
        (got != want).then(|| format!("Description is {got:?}, not the requested {want:?}"))
    }

    /// describe-tags: the copy has its `image` TagSpecifications' tags, plus the source's with
    /// CopyImageTags=true, and no others.
    pub(super) fn tags_problem(&self, c: &Made, image: &DescribedImage) -> Option<String> {
        let explicit = image_tags(&c.params);
        let copied = if self.oracle.limits().is_true(c.params.get(key::COPY_IMAGE_TAGS).map(String::as_str)) {
            self.source_tags(&c.params)
        } else {
            BTreeMap::new()
        };
        let mut problems = vec![];
        for (k, v) in &explicit {
            match image.tags.get(k) {
                // How the two sources combine on one key is not documented: either value will do.
                Some(got) if got == v || copied.get(k) == Some(got) => {}
                Some(got) => {
                    problems.push(format!("tag {:?} is {:?}, not {:?} (TagSpecification)", clip(k), clip(got), clip(v)))
                }
                None => problems.push(format!("tag {:?} missing (TagSpecification)", clip(k))),
            }
        }
        for (k, v) in copied.iter().filter(|(k, _)| !explicit.contains_key(*k)) {
            match image.tags.get(k) {
                Some(got) if got == v => {}
                Some(got) => problems.push(format!(
                    "tag {:?} is {:?}, not the source's {:?} (CopyImageTags)",
                    clip(k),
                    clip(got),
                    clip(v)
                )),
                None => problems.push(format!("tag {:?} missing (the source's, CopyImageTags=true)", clip(k))),
            }
        }
        for (k, v) in &image.tags {
            if !explicit.contains_key(k) && !copied.contains_key(k) {
                problems.push(format!("unexpected tag {:?}={:?}", clip(k), clip(v)));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// The source's tags a copy with CopyImageTags=true carries: user-defined ones only, and of
    /// another account's image only `ec2:SharedTag/` ones.
    fn source_tags(&self, params: &Params) -> BTreeMap<String, String> {
        let (Some(id), Some(region)) = (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION)) else {
            return BTreeMap::new();
        };
        let Some(source) = self.model.image(id, region) else { return BTreeMap::new() };
        let own = self.model.owner_of(&source) == self.model.account;
        source
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:") && (own || k.starts_with("ec2:SharedTag/")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// describe-encrypted: the copy's EBS snapshots are encrypted when they must be.
    pub(super) fn encrypted_problem(&self, c: &Made, image: &DescribedImage) -> Option<String> {
        if !self.expect_encrypted(&c.params) {
            return None;
        }
        let why = if self.oracle.limits().is_true(c.params.get(key::ENCRYPTED).map(String::as_str)) {
            "Encrypted=true was asked"
        } else {
            "the source is encrypted"
        };
        if image.ebs_encrypted.is_empty() {
            return Some(format!("no EBS block device shows encryption, but {why}"));
        }
        let plain = image.ebs_encrypted.iter().filter(|e| **e != Some(true)).count();
        (plain > 0).then(|| format!("{plain} of {} EBS snapshots not encrypted, but {why}", image.ebs_encrypted.len()))
    }

    /// Whether a copy with these parameters must be encrypted: Encrypted=true, or an
    /// encrypted source.
    pub(super) fn expect_encrypted(&self, params: &Params) -> bool {
        let source = match (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION)) {
            (Some(id), Some(region)) => self.model.image(id, region).is_some_and(|i| i.encrypted),
            _ => false,
        };
        self.oracle.limits().is_true(params.get(key::ENCRYPTED).map(String::as_str)) || source
    }

    /// describe-state: the copy is `pending` or `available`.
    pub(super) fn state_problem(image: &DescribedImage) -> Option<String> {
        match image.state.as_deref() {
            Some("pending" | "available") => None,
            Some(s) => Some(format!("state {s:?}, not pending or available")),
            None => Some("no state".into()),
        }
    }
}

/// The tags of a request's `image` TagSpecifications.
pub(super) fn image_tags(params: &Params) -> BTreeMap<String, String> {
    tag_specs(params)
        .into_iter()
        .filter(|s| s.resource_type.as_deref() == Some("image"))
        .flat_map(|s| s.tags)
        .filter_map(|(k, v)| Some((k?, v.unwrap_or_default())))
        .collect()
}
