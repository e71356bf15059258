//! The stored corpus: cases generated once from a seed, so generator changes do not reshuffle a
//! baseline, and source images named by role so any endpoint's ids fit.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::generate::Case;
use crate::snapshot::{BaselineError, io_err, write_atomic};
use crate::spec::input::{Limit, Lines};
use crate::wire::{Redacting, Redactor};
use crate::world::World;

/// The first line of `corpus.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// The seed the cases came from.
    pub seed: u64,
    /// The world the cases were generated for; its images' roles are what cases refer to.
    pub world: World,
}

/// A stored corpus.
pub struct Corpus {
    /// The header.
    pub header: Header,
    /// The cases, in order.
    pub cases: Vec<Case>,
}

impl Corpus {
    /// Reads `corpus.jsonl`; every error names the line. The file and each line are read
    /// only up to their limits ([`Limit::CORPUS`], [`Limit::CORPUS_LINE`]).
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let mut lines = Lines::open(path, Limit::CORPUS, Limit::CORPUS_LINE)?;
        let fmt =
            |line: usize, message: String| BaselineError::Format { path: path.display().to_string(), line, message };
        let (_, first) = lines.next_line().ok_or_else(|| fmt(1, "empty corpus".into()))??;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wrapper {
            corpus: Header,
        }
        let header = serde_json::from_str::<Wrapper>(&first).map_err(|e| fmt(1, e.to_string()))?.corpus;
        if header.version != 1 {
            return Err(fmt(1, format!("corpus version {} is not supported (1 is)", header.version)));
        }
        let mut cases = vec![];
        while let Some(next) = lines.next_line() {
            let (number, line) = next?;
            if line.trim().is_empty() {
                continue;
            }
            cases.push(serde_json::from_str::<Case>(&line).map_err(|e| fmt(number, e.to_string()))?);
        }
        let mut header = header;
        header.world.reindex();
        Ok(Corpus { header, cases })
    }

    /// Writes `corpus.jsonl` whole (a world from `--discover` or `--setup` holds what the
    /// endpoint said, so it goes through `redactor`).
    pub fn save(&self, path: &Path, redactor: &Redactor) -> Result<(), BaselineError> {
        let mut bytes = vec![];
        {
            let mut out = Redacting::new(&mut bytes, redactor.clone());
            let mut write = || -> std::io::Result<()> {
                serde_json::to_writer(&mut out, &serde_json::json!({ "corpus": self.header }))?;
                out.write_all(b"\n")?;
                for c in &self.cases {
                    serde_json::to_writer(&mut out, c)?;
                    out.write_all(b"\n")?;
                }
                out.flush()
            };
            write().map_err(|e| io_err(path, e))?;
        }
        write_atomic(path, &bytes)
    }
}

/// How a corpus's source images map onto a run's: by role.
#[derive(Debug, Default)]
pub struct RoleMap {
    /// Corpus image id to run image id.
    pub ids: BTreeMap<String, String>,
    /// Corpus image name to the run image's name (names made by --setup differ per run).
    pub names: BTreeMap<String, String>,
    /// Roles the run world lacks.
    pub missing: Vec<String>,
}

/// Maps the corpus world's images to the run world's, by role.
pub fn map_roles(corpus: &World, run: &World) -> RoleMap {
    let mut map = RoleMap::default();
    for img in corpus.images.iter() {
        let Some(role) = &img.role else { continue };
        match run.images.iter().find(|i| i.role.as_ref() == Some(role)) {
            Some(found) => {
                map.ids.insert(img.image_id.clone(), found.image_id.clone());
                if let (Some(from), Some(to)) = (&img.name, &found.name) {
                    map.names.insert(from.clone(), to.clone());
                }
            }
            None => map.missing.push(role.clone()),
        }
    }
    map
}

/// Rewrites a case's source image ids (and Names taken from corpus images, as duplicate-name
/// cases do) from the corpus's to the run's; false when it names an image of a role the run
/// world lacks.
pub fn rebase(case: &mut Case, map: &RoleMap, corpus_world: &World) -> bool {
    let mut ok = true;
    let mut fix = |params: &mut crate::world::Params| {
        if let Some(id) = params.get("SourceImageId").cloned() {
            if let Some(new) = map.ids.get(&id) {
                params.insert("SourceImageId".into(), new.clone());
            } else if corpus_world.has_image_id(&id) {
                ok = false;
            }
        }
        if let Some(new) = params.get("Name").and_then(|n| map.names.get(n)).cloned() {
            params.insert("Name".into(), new);
        }
    };
    for s in &mut case.setup {
        fix(&mut s.params);
    }
    fix(&mut case.params);
    ok
}
