"""Process-wide tuning of a clientcard server process.

Python's cyclic garbage collector runs a young collection every 700 new container objects,
and older ones every tenth of those; a full one walks every tracked object, including all
that the app loaded at startup (the ORM mappers, the routes, the templates), which never
become garbage. Ingesting a batch of 1,000 interactions creates a few hundred thousand
short-lived containers (validated items, rows, parameters, results), and with Python's
defaults the collector took a large share of a batch's time (see docs/benchmarks.md,
"Garbage collection"). So a server process, once the app is built:

- moves everything alive to the collector's permanent generation (`gc.freeze`), so that
  collections no longer walk it;
- collects the young generation every `YOUNG_THRESHOLD` allocations instead of 700: a
  request's temporaries are freed by reference counting long before that many pile up, so
  collections become rare.

Reference cycles are still collected, only later; memory stays bounded by the same
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
