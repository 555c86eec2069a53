"""A server process tunes the garbage collector once its app is built (`clientcard.asgi`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clientcard import process


def test_the_asgi_app_freezes_startup_objects_and_raises_the_thresholds(tmp_path: Path):
    probe = (
        "import gc, json, clientcard.asgi; "
        "print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"
    )
    env = {**os.environ, "CLIENTCARD_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    thresholds, frozen = json.loads(out.stdout.strip().splitlines()[-1])
    assert thresholds == [
        process.YOUNG_THRESHOLD,
        process.MIDDLE_THRESHOLD,
        process.OLD_THRESHOLD,
    ]
    assert frozen > 10_000  # the app's modules, routes and mappers
