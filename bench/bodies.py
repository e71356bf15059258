#!/usr/bin/env python3
"""Reads a `run --format json` report on stdin and writes each request body the harness sent,
one a line, for bench/replay.lua (the bodies are the `--data-binary` words of the reproductions)."""
import json
import shlex
import sys

report = json.load(sys.stdin)
for case in report["cases"]:
    for step in case.get("setup", []) + [case]:
        words = shlex.split(step["curl"].replace("\\\n", " "))
        body = words[words.index("--data-binary") + 1]
        print(body)
