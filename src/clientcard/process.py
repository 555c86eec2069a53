"""Process-wide tuning of a clientcard server process.

Python's cyclic garbage collector runs a young collection every 700 new container objects
and a full one, over every tracked object, after every hundred young ones. Ingesting a batch
of 1,000 interactions creates a few hundred thousand short-lived containers (validated items,
rows, parameters, results), so with those defaults it spends a quarter of a batch's time
collecting, most of it walking the long-lived objects that the app loaded at startup (the ORM
mappers, the routes, the templates) and that never become garbage (measured in
docs/benchmarks.md, "Garbage collection"). So a server process, once the app is built:

- moves everything alive to the collector's permanent generation (`gc.freeze`), so that
  full collections no longer walk it;
- collects the young generation every `YOUNG_THRESHOLD` allocations instead of 700, so a
  request's temporaries are mostly freed by reference counting before a collection looks
  at them.

Reference cycles are still collected, only less often; memory stays bounded by the same
collector.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def tune_collector() -> None:
    """Freezes what the process holds now and raises the collector's thresholds. Called once
    per server process, after the app is built (`clientcard.asgi`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
