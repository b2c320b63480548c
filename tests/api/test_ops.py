"""Operations endpoints: the projections' lag as a Prometheus metric."""

from __future__ import annotations

import re

from tests.api.test_registrations import register
from tests.conftest import settle


def lag(client, projection: str) -> float:
    text = client.get("/metrics").data.decode()
    match = re.search(rf'accounts_projection_lag_events{{projection="{projection}"}} (\S+)', text)
    assert match, text
    return float(match.group(1))


def test_the_projection_lag_is_zero_once_the_read_models_caught_up(client, services):
    register(client, first_name="Hélèna")
    settle(services)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert lag(client, "support_queue") == 0 and lag(client, "portal") == 0


def test_the_projection_lag_counts_the_events_not_yet_applied(client, services):
    services.projections.stop()
    register(client, first_name="Hélèna")
    behind = services.lifecycle.recorder.max_notification_id()
    assert lag(client, "support_queue") == behind and lag(client, "portal") == behind
    services.projections.start()
    settle(services)
    assert lag(client, "support_queue") == 0
