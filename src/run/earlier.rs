//! Names an earlier run left on a long-lived endpoint. The nonce keeps a value's length, so two
//! runs can send one short Name (see [`super::nonce`]); the later copy is then refused as a
//! duplicate the mirror cannot foresee. Before such a refusal is judged, the endpoint is asked
//! for its own images of that Name: one the run did not make joins the mirror, and the request
//! is predicted again with it. A refusal the endpoint's images do not explain stays as it was,
//! and so does one for a Name this run sent before: its image may be this run's own, made where
//! the endpoint should have made none (a dry run, a refused copy), which is a finding. A lookup
//! that fails (no `ec2:DescribeImages` permission, an answer that cannot be read) leaves the
//! refusal a finding too, and is counted with the first failure's reason, so that the report
//! says the check could not be made; each lookup counts as a request the run sent.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Runner;
use super::ec2::Ec2Client;
use super::nonce::Rotation;
use super::order;
use super::send::Sent;
use crate::oracle::{Prediction, key};
use crate::wire::Reply;
use crate::wire::describe::{Text, read_xml};
use crate::world::{Image, ImageState, Params};

/// The spec's rule on a Name already in use: its outcomes are the refusals looked into.
pub const NAME_RULE: &str = "R31-name-dup";

/// The Names a run has sent and had answered, as a Bloom filter: flat in memory whatever the
/// number of cases (2 MiB; about one false "sent" in 200 after a million Names, and a false
/// "sent" only leaves a refusal as the finding it was before this module). A Name's bits all
/// lie in one word: every answered Name is noted, and bits spread over the filter cost a cache
/// miss each, more than the rest of the check.
#[derive(Default)]
pub(super) struct SentNames {
    words: OnceLock<Box<[AtomicU64]>>,
}

/// The filter's size: 2^18 words of 64 bits.
const WORDS_LOG2: u32 = 18;
/// Bits set per Name: four in a word keep, at a million Names, the false "sent"s of three spread
/// over the filter.
const PROBES: u32 = 4;

/// Where a Name lies in the filter: its word and its bits there.
#[derive(Clone, Copy)]
struct Probe {
    word: usize,
    bits: u64,
}

impl SentNames {
    /// The probe of `name`, from one hash: its top bits pick the word, and each bit takes six
    /// of its low ones.
    fn probe(name: &str) -> Probe {
        let h = order::key(b'n', name.bytes());
        let bits = (0..PROBES).fold(0, |bits, i| bits | 1 << ((h >> (6 * i)) & 63));
        Probe { word: (h >> (64 - WORDS_LOG2)) as usize, bits }
    }

    /// Notes the Name of `probe` as sent; the filter is made on the first.
    fn add(&self, probe: Probe) {
        let words = self.words.get_or_init(|| (0..1usize << WORDS_LOG2).map(|_| AtomicU64::new(0)).collect());
        words[probe.word].fetch_or(probe.bits, Ordering::Relaxed);
    }

    /// Whether the Name of `probe` may have been sent (certainly not when this says no).
    fn may_hold(&self, probe: Probe) -> bool {
        let Some(words) = self.words.get() else { return false };
        words[probe.word].load(Ordering::Relaxed) & probe.bits == probe.bits
    }
}

impl Runner {
    /// `prediction`, or the request predicted again with the images an earlier run left under
    /// its Name, when the endpoint refused it as a duplicate Name the prediction did not
    /// accept and the endpoint's own images show one the mirror lacks. A Name the nonce
    /// rotated is noted as sent once judged, so that a later request on it knows this one.
    pub(super) async fn with_earlier_name(
        &self,
        params: &Params,
        prediction: Prediction,
        rotation: Option<&Rotation>,
        sent: &Sent,
    ) -> Prediction {
        // Only a Name the nonce rotated can be an earlier run's.
        let Some(name) = rotation.filter(|r| r.rotated_name()).and_then(|_| params.get(key::NAME)) else {
            return prediction;
        };
        let probe = SentNames::probe(name);
        let prediction = match self.refused(&prediction, sent) && !self.sent_names.may_hold(probe) {
            true => self.learnt(name, params, prediction).await,
            false => prediction,
        };
        self.sent_names.add(probe);
        prediction
    }

    /// The request predicted again with the caller's images of `name` the endpoint holds and
    /// the mirror lacks; `prediction` when there are none, or the endpoint cannot tell.
    async fn learnt(&self, name: &str, params: &Params, prediction: Prediction) -> Prediction {
        // No answer, or one that cannot be read, is no evidence: the refusal stays a finding,
        // and the report says why it was not checked.
        let held = match self.held_named(name).await {
            Ok(held) => held,
            Err(why) => {
                self.counters.earlier_unchecked.fetch_add(1, Ordering::Relaxed);
                let _ = self.counters.earlier_unchecked_why.set(why);
                return prediction;
            }
        };
        let mut world = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        let earlier: Vec<Image> = held
            .into_iter()
            .filter(|i| {
                i.name.as_deref() == Some(name)
                    && i.region == world.region
                    && world.owner_of(i) == world.account
                    && i.state != ImageState::Deregistered
                    && !world.has_image_id(&i.image_id)
            })
            .collect();
        if earlier.is_empty() {
            return prediction;
        }
        world.images_mut().extend(earlier);
        world.reindex();
        self.counters.earlier_names.fetch_add(1, Ordering::Relaxed);
        self.oracle.predict(&world, params)
    }

    /// Whether the reply refuses the request as a duplicate Name where the prediction accepted
    /// no such refusal (the code as the run's code map reads it: one code of another dialect
    /// may stand for several EC2 codes). Never on AWS, with `--live` or without (the target
    /// forces dry runs there either way): the lookup is a call no dry run stands in for.
    fn refused(&self, prediction: &Prediction, sent: &Sent) -> bool {
        let Ok((_, Reply::Error { code, .. })) = &sent.outcome else { return false };
        let Some(rule) = self.oracle.spec().rule(NAME_RULE) else { return false };
        let duplicate = rule.outcomes.iter().filter_map(|o| o.code.as_deref()).any(|c| self.codes.matches(code, c));
        let accepted = prediction.codes.iter().any(|c| self.codes.matches(code, c));
        !self.target.safety.force_dry_run && duplicate && !accepted
    }

    /// The caller's images in the target's Region named `name`, as the endpoint lists them.
    async fn held_named(&self, name: &str) -> Result<Vec<Image>, String> {
        let client = Ec2Client::new(&self.target).map_err(|e| e.to_string())?;
        let params: Params = [("Owner.1", "self"), ("Filter.1.Name", "name"), ("Filter.1.Value.1", name)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let region = &self.target.region;
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let answer =
            client.call(region, "DescribeImages", &params).await.map_err(|e| format!("DescribeImages: {e}"))?;
        let images = read_xml(&answer, Text::Verbatim).map_err(|e| format!("DescribeImages' answer: {e}"))?;
        Ok(images.into_iter().map(|i| i.into_image(region)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::SentNames;

    #[test]
    fn sent_names_are_never_forgotten_and_seldom_invented() {
        let sent = SentNames::default();
        let held = |name: &str| sent.may_hold(SentNames::probe(name));
        assert!(!held("abc"), "nothing is sent before the first");
        let names: Vec<String> = (0..100_000).map(|i| format!("n{i}")).collect();
        names.iter().for_each(|n| sent.add(SentNames::probe(n)));
        assert!(names.iter().all(|n| held(n)));
        // About 20 in a million at this fill.
        let invented = (0..100_000).filter(|i| held(&format!("m{i}"))).count();
        assert!(invented < 20, "{invented} Names never sent seem sent");
    }

    #[test]
    fn a_million_names_leave_about_one_false_sent_in_200() {
        let sent = SentNames::default();
        (0..1_000_000).for_each(|i| sent.add(SentNames::probe(&format!("n{i}"))));
        // About 450 expected: one in 221 at this fill.
        let invented = (0..100_000).filter(|i| sent.may_hold(SentNames::probe(&format!("m{i}")))).count();
        assert!(invented < 600, "{invented} of 100,000 Names never sent seem sent");
    }
}
