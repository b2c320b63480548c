"""The web process's settings that are ours: what a worker does once it has loaded the app."""

from __future__ import annotations

import gc

from adapters import gunicorn_conf


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_reach():
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        # Everything alive then is frozen: a full collection no longer walks it.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()

