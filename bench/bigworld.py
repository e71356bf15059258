#!/usr/bin/env python3
"""Writes a large world file (N source images) to stdout, for memory measurements.

Usage: bench/bigworld.py N > world.json

The images are the built-in world's (specs/world.json, so every role the generator needs is
there) followed by N - len(built-in) plain images of the caller's, in us-east-1 and us-west-2,
some encrypted, some with tags. The output is the same for the same N.
"""
import json
import pathlib
import sys


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: bench/bigworld.py N > world.json", file=sys.stderr)
        return 2
    n = int(sys.argv[1])
    builtin = pathlib.Path(__file__).resolve().parent.parent / "specs" / "world.json"
    world = json.loads(builtin.read_text())
    images = world["images"]
    regions = ["us-east-1", "us-west-2"]
    for i in range(max(0, n - len(images))):
        img = {
            "image_id": f"ami-{0x0b16000000000000 + i:017x}",
            "region": regions[i % 2],
            "name": f"big-{i:07d}",
        }
        if i % 5 == 0:
            img["encrypted"] = True
        if i % 3 == 0:
            img["tags"] = {"env": "bench", "n": str(i)}
        images.append(img)
    json.dump(world, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
