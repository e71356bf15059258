//! The session's baseline steps: opening a baseline with its corpus rebased onto the run's
//! world, and after the cases, rewriting it and comparing with it.
//!
//! A new corpus is written with the snapshots, after the cases, never before: an interrupted
//! `--update-baseline` writes nothing at all, and the directory stays as it was.

use std::io::Write;

use crate::generate::{Case, Generator};
use crate::oracle::Oracle;
use crate::snapshot::corpus::{Header, rebase};
use crate::snapshot::{Baseline, Comparison, Corpus, map_roles};
use crate::wire::Redactor;
use crate::world::World;

use super::SessionError;
use super::plan::{BaselinePlan, Plan};

/// An open baseline: what the cases are recorded into, the corpus's cases for the run, and a
/// corpus generated for this run, to be written with the snapshots.
pub(super) struct Opened {
    /// The baseline the cases are recorded into.
    pub baseline: Baseline,
    /// The corpus's cases, rebased onto the run world (taken by the run).
    pub cases: Vec<Case>,
    new_corpus: Option<Corpus>,
}

/// Opens a baseline and its corpus, rebased onto the run world. Without a corpus, one is
/// generated (only when the baseline is to be rewritten).
pub(super) fn open(
    oracle: &Oracle,
    plan: &Plan,
    baseline: &BaselinePlan,
    world: &World,
    redactor: &Redactor,
    diag: &mut dyn Write,
) -> Result<Opened, SessionError> {
    let dir = baseline.dir.as_path();
    let mut opened = Baseline::open(dir, oracle.spec())?;
    opened.redact_with(redactor.clone());
    let path = dir.join("corpus.jsonl");
    let (corpus, new_corpus) = if path.exists() {
        let corpus = Corpus::load(&path)?;
        let origin = format!("{}:1: corpus.world", path.display());
        corpus.header.world.validate(oracle.spec(), &origin)?;
        (corpus, None)
    } else if baseline.update {
        let corpus = create_corpus(oracle, plan, world)?;
        (Corpus { header: corpus.header.clone(), cases: corpus.cases.clone() }, Some(corpus))
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
    Ok(Opened { baseline: opened, cases, new_corpus })
}

fn create_corpus(oracle: &Oracle, plan: &Plan, world: &World) -> Result<Corpus, SessionError> {
    let cases = Generator::new(oracle, world.clone(), plan.seed, plan.only, plan.rule.as_deref())?
        .take(plan.cases as usize)
        .collect::<Result<_, _>>()?;
    Ok(Corpus { header: Header { version: 1, seed: plan.seed, world: world.clone() }, cases })
}

/// After the cases: rewrites the snapshots (and writes a new corpus) if asked, compares, and
/// tells `diag` what differs.
pub(super) fn finish(
    opened: &Opened,
    plan: &BaselinePlan,
    redactor: &Redactor,
    diag: &mut dyn Write,
) -> Result<Comparison, SessionError> {
    let baseline = &opened.baseline;
    if plan.update {
        let dir = plan.dir.as_path();
        std::fs::create_dir_all(dir).map_err(|source| SessionError::Create { path: dir.to_owned(), source })?;
        let n = baseline.write()?;
        // The corpus last: a corpus on disk always has its snapshots.
        if let Some(corpus) = &opened.new_corpus {
            let path = dir.join("corpus.jsonl");
            corpus.save(&path, redactor)?;
            let _ = writeln!(
                diag,
                "copyimage-conformance: wrote a corpus of {} cases to {}",
                corpus.cases.len(),
                path.display()
            );
        }
        let _ = writeln!(diag, "copyimage-conformance: wrote {n} snapshot files to {}", dir.display());
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

/// What an interrupted run says of its baseline, which it neither rewrote nor compared with.
pub(super) fn skipped(plan: &BaselinePlan, diag: &mut dyn Write) -> String {
    let what = if plan.update { "updated (no snapshot or corpus written)" } else { "compared" };
    let _ = writeln!(diag, "copyimage-conformance: interrupted: the baseline in {} was not {what}", plan.dir.display());
    if plan.update { "the baseline update".to_owned() } else { "the baseline comparison".to_owned() }
}
