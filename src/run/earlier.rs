//! Names an earlier run left on a long-lived endpoint. The nonce keeps a value's length, so two
//! runs can send one short Name (see [`super::nonce`]); the later copy is then refused as a
//! duplicate the mirror cannot foresee. Before such a refusal is judged, the endpoint is asked
//! for its own images of that Name: one the run did not make joins the mirror, and the request
//! is predicted again with it. A refusal the endpoint's images do not explain stays as it was.

use std::sync::atomic::Ordering;

use super::Runner;
use super::ec2::Ec2Client;
use super::nonce::Rotation;
use super::send::Sent;
use crate::oracle::{Prediction, key};
use crate::wire::Reply;
use crate::wire::describe::{Text, read_xml};
use crate::world::{Image, ImageState, Params};

/// The spec's rule on a Name already in use: its outcomes are the refusals looked into.
pub const NAME_RULE: &str = "R31-name-dup";

impl Runner {
    /// `prediction`, or the request predicted again with the images an earlier run left under
    /// its Name, when the endpoint refused it as a duplicate Name the prediction did not
    /// accept and the endpoint's own images show one the mirror lacks.
    pub(super) async fn with_earlier_name(
        &self,
        params: &Params,
        prediction: Prediction,
        rotation: Option<&Rotation>,
        sent: &Sent,
    ) -> Prediction {
        let Some(name) = self.refused_name(params, &prediction, rotation, sent) else { return prediction };
        // No answer, or one that cannot be read, is no evidence: the refusal stays a finding.
        let Ok(held) = self.held_named(name).await else { return prediction };
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

    /// The Name of a request refused as a duplicate where the prediction accepted no such
    /// refusal; only a Name the nonce rotated can be an earlier run's.
    fn refused_name<'p>(
        &self,
        params: &'p Params,
        prediction: &Prediction,
        rotation: Option<&Rotation>,
        sent: &Sent,
    ) -> Option<&'p str> {
        rotation?.keys.iter().find(|k| *k == key::NAME)?;
        let Ok((_, Reply::Error { code, .. })) = &sent.outcome else { return None };
        let rule = self.oracle.spec().rule(NAME_RULE)?;
        let duplicate = rule.outcomes.iter().filter_map(|o| o.code.as_deref()).find(|c| self.codes.matches(code, c))?;
        (!prediction.accepts_code(duplicate)).then(|| params.get(key::NAME).map(String::as_str)).flatten()
    }

    /// The caller's images in the target's Region named `name`, as the endpoint lists them.
    async fn held_named(&self, name: &str) -> Result<Vec<Image>, String> {
        let client = Ec2Client::new(&self.target).map_err(|e| e.to_string())?;
        let params: Params = [("Owner.1", "self"), ("Filter.1.Name", "name"), ("Filter.1.Value.1", name)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let region = &self.target.region;
        let answer = client.call(region, "DescribeImages", &params).await.map_err(|e| e.detail)?;
        let images = read_xml(&answer, Text::Verbatim).map_err(|e| e.to_string())?;
        Ok(images.into_iter().map(|i| i.into_image(region)).collect())
    }
}
