"""The benchmarks' JSON lines read back: one reader for every ``--from-jsonl``."""

import json
from pathlib import Path


def read_rows(paths):
    """The JSON lines of ``paths``, in order."""
    rows = []
    for path in paths:
        rows += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return rows
