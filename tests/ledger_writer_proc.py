"""A writer process for the durability and many-writers tests: appends and prints each
acknowledged sequence number as soon as `append` returns."""

from __future__ import annotations

import sys

from audit import LedgerWriter, open_engine

if __name__ == "__main__":
    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    writer = LedgerWriter(open_engine(url, busy_timeout_ms=30_000))
    for i in range(count):
        entry = writer.append("test.appended", actor=name, payload={"i": i})
        print(entry.seq, flush=True)
