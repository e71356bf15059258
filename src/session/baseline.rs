//! The session's baseline steps: opening a baseline with its corpus rebased onto the run's
//! world, and after the cases, rewriting it and comparing with it.

use std::io::Write;
use std::path::Path;

use crate::generate::{Case, Generator};
use crate::oracle::Oracle;
use crate::snapshot::corpus::{Header, rebase};
use crate::snapshot::{Baseline, Comparison, Corpus, map_roles};
use crate::world::World;

use super::SessionError;
use super::plan::{BaselinePlan, Plan};

/// Opens a baseline and its corpus, rebased onto the run world. Without a corpus, one is
/// generated (only when the baseline is to be rewritten).
pub(super) fn open(
    oracle: &Oracle,
    plan: &Plan,
    baseline: &BaselinePlan,
    world: &World,
    diag: &mut dyn Write,
) -> Result<(Baseline, Vec<Case>), SessionError> {
    let dir = baseline.dir.as_path();
    let opened = Baseline::open(dir, oracle.spec())?;
    let path = dir.join("corpus.jsonl");
    let corpus = if path.exists() {
        let corpus = Corpus::load(&path)?;
        let origin = format!("{}:1: corpus.world", path.display());
        corpus.header.world.validate(oracle.spec(), &origin)?;
        corpus
    } else if baseline.update {
        create_corpus(oracle, plan, dir, &path, world, diag)?
    } else {
        return Err(SessionError::NoCorpus { path });
    };
    let map = map_roles(&corpus.header.world, world);
    if !map.missing.is_empty() {
        let _ = writeln!(
            diag,
            "copyimage-conformance: the world has no image for role(s) {}; cases that need them are skipped",
            map.missing.join(", ")
        );
    }
    let mut cases = Vec::with_capacity(corpus.cases.len());
    let mut unmapped = 0u64;
    for mut c in corpus.cases {
        if rebase(&mut c, &map, &corpus.header.world) {
            cases.push(c);
        } else {
            unmapped += 1;
        }
    }
    if unmapped > 0 {
        let _ = writeln!(diag, "copyimage-conformance: {unmapped} corpus cases skipped for want of an image role");
    }
    Ok((opened, cases))
}

fn create_corpus(
    oracle: &Oracle,
    plan: &Plan,
    dir: &Path,
    path: &Path,
    world: &World,
    diag: &mut dyn Write,
) -> Result<Corpus, SessionError> {
    std::fs::create_dir_all(dir).map_err(|source| SessionError::Create { path: dir.to_owned(), source })?;
    let cases = Generator::new(oracle, world.clone(), plan.seed, plan.only, plan.rule.as_deref())?
        .take(plan.cases as usize)
        .collect::<Result<_, _>>()?;
    let corpus = Corpus { header: Header { version: 1, seed: plan.seed, world: world.clone() }, cases };
    corpus.save(path)?;
    let _ =
        writeln!(diag, "copyimage-conformance: wrote a corpus of {} cases to {}", corpus.cases.len(), path.display());
    Ok(corpus)
}

/// After the cases: rewrites the snapshots if asked, compares, and tells `diag` what differs.
pub(super) fn finish(
    baseline: &Baseline,
    plan: &BaselinePlan,
    diag: &mut dyn Write,
) -> Result<Comparison, SessionError> {
    if plan.update {
        let n = baseline.write()?;
        let _ = writeln!(diag, "copyimage-conformance: wrote {n} snapshot files to {}", plan.dir.display());
    }
    let cmp = baseline.compare()?;
    for d in &cmp.diffs {
        let _ = write!(diag, "{d}");
    }
    for (id, what) in &cmp.unaccepted {
        let _ =
            writeln!(diag, "copyimage-conformance: case {id} deviates and accepted.toml does not accept it: {what}");
    }
    Ok(cmp)
}
