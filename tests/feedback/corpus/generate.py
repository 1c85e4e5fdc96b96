#!/usr/bin/env python3
"""Regenerate the feedback corpus (.eml files + labels.jsonl).

Deterministic: the RNG is seeded, so re-running produces identical files.
Usage: python3 tests/feedback/corpus/generate.py
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen import engine  # noqa: E402
from gen import replies_en, replies_fr, auto, dsn, arf  # noqa: E402


def main():
    for sub in ("replies", "auto", "dsn", "arf"):
        d = os.path.join(HERE, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".eml"):
                    os.remove(os.path.join(d, f))
    replies_en.build()
    replies_fr.build()
    auto.build()
    dsn.build()
    arf.build()
    engine.write_labels()
    print(f"wrote {len(engine.LABELS)} messages")


if __name__ == "__main__":
    main()
