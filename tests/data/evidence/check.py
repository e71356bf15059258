#!/usr/bin/env python3
"""Runs the oracle on every evidence line and prints AGREES / DISAGREES / N/A.

Usage (from the repository root, after `cargo build`):
    python3 tests/data/evidence/check.py [path/to/copyimage-conformance]

A line AGREES when the evidence's error code is among the predicted codes, or when the
evidence is a success and the prediction admits success (ok, or a success outcome).
AuthFailure / RequestLimitExceeded lines are N/A: rules R00 and R01 are not predicted.
Exit status 1 if any line DISAGREES or the oracle errors.
"""
import glob, json, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "target", "debug", "copyimage-conformance")
NOT_PREDICTED = {"AuthFailure", "RequestLimitExceeded"}
bad = 0
for path in sorted(glob.glob(os.path.join(here, "*.jsonl"))):
    for n, text in enumerate(open(path), 1):
        line = json.loads(text)
        case = json.dumps({"world": line["world"], "params": line["request"]})
        run = subprocess.run([binary, "predict"], input=case, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"ERROR     {os.path.basename(path)}:{n} {line['id']}: {run.stderr.strip()}")
            bad += 1
            continue
        p = json.loads(run.stdout)
        codes = [o.get("code") for o in p.get("outcomes", [])]
        success_ok = bool(p.get("ok")) or any(c is None for c in codes)
        want = line["answer"]["code"]
        if want in NOT_PREDICTED:
            verdict = "N/A"
        elif want is None:
            verdict = "AGREES" if success_ok else "DISAGREES"
        else:
            verdict = "AGREES" if want in codes else "DISAGREES"
        bad += verdict == "DISAGREES"
        shown = " | ".join(c or "200" for c in codes)
        print(f"{verdict:9} {line['id']:58} evidence={want or line['answer']['status']} oracle={shown} {p.get('rules', [])}")
sys.exit(1 if bad else 0)
