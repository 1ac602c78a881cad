"""The production server's worker setup (gunicorn hooks)."""

import gc
from types import SimpleNamespace

import pytest

from visits.web.server import _post_worker_init


def test_a_started_worker_keeps_its_loaded_app_out_of_full_collections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIYOM_RUN_SCHEDULER", "0")
    gc.unfreeze()
    try:
        _post_worker_init(SimpleNamespace())
        # Everything alive when the worker started is frozen: full passes skip it.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
