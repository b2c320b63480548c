"""Operations endpoints: the projections' lag as a Prometheus metric."""

from __future__ import annotations

import re

from tests.helpers import drain, register, settle


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


def sample(client, name: str, **labels: str) -> float:
    """A sample's value in /metrics, 0 when the series does not exist yet. The counters are
    the process's, shared by every test in it: tests compare before and after."""
    text = client.get("/metrics").data.decode()
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name:
            inside = series.partition("{")[2].rstrip("}")
            if ",".join(sorted(inside.split(","))) == wanted or (not wanted and not inside):
                return float(value)
    return 0.0


def test_requests_registrations_sign_ins_and_e_mails_are_counted(client, services):
    from tests.helpers import credentials, mails

    def counts() -> dict[str, float]:
        return {
            "posts": sample(client, "accounts_http_requests_total",
                            endpoint="/api/v1/registrations", method="POST", status="201"),
            "accepted": sample(client, "accounts_registrations_total", outcome="accepted"),
            "review": sample(client, "accounts_registrations_total", outcome="identity_review"),
            "failures": sample(client, "accounts_sign_ins_total", result="failure"),
            "successes": sample(client, "accounts_sign_ins_total", result="success"),
            "sent": sample(client, "accounts_emails_total", mail="credentials", result="sent"),
            "delays": sample(client, "accounts_email_delay_seconds_count", mail="credentials"),
        }

    before = counts()
    register(client)
    register(client, member_number="M1000008", last_name="Autre", first_name="Nom",
             birth_date="1990-01-15", email="autre@example.org")
    identifier, temporary = credentials(mails(services)[-1])
    client.post("/api/v1/sessions", json={"identifier": identifier, "password": "Faux-1234"})
    client.post("/api/v1/sessions", json={"identifier": identifier, "password": temporary})
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {
        "posts": 2, "accepted": 1, "review": 1, "failures": 1, "successes": 1, "sent": 1,
        "delays": 1,
    }


def test_lag_in_seconds_and_queue_depth_are_read_at_scrape_time(client, services, clock):
    services.projections.stop()
    register(client, first_name="Hélèna")
    assert sample(client, "accounts_projection_lag_seconds", projection="support_queue") > 0
    assert "accounts_queue_depth{" in client.get("/metrics").data.decode()
    services.projections.start()
    settle(services)
    assert sample(client, "accounts_projection_lag_seconds", projection="support_queue") == 0


def test_each_read_model_s_lag_is_its_own_and_each_position_s_oldest_event_is_read_once(
    client, services, monkeypatch
):
    from projections.runner import catch_up

    services.projections.stop()
    register(client, first_name="Hélèna")
    drain(services)
    logged = [n.id for n in services.lifecycle.recorder.select_notifications(1, 10**6)]
    head, middle = logged[-1], logged[len(logged) // 2]  # ids, as PostgreSQL's may have gaps
    serving = {p.name: p for p in services.projections.serving()}
    catch_up(services.lifecycle, serving["portal"], stop=middle)
    catch_up(services.lifecycle, serving["audit"], stop=middle)
    catch_up(services.lifecycle, serving["audit_tree"])
    reads = []
    select = services.lifecycle.recorder.select_notifications

    def counting(start, limit, *args, **kwargs):
        reads.append(start)
        return select(start, limit, *args, **kwargs)

    monkeypatch.setattr(services.lifecycle.recorder, "select_notifications", counting)
    text = client.get("/metrics").data.decode()

    def gauge(name: str, projection: str) -> float:
        match = re.search(rf'{name}{{projection="{projection}"}} (\S+)', text)
        assert match, text
        return float(match.group(1))

    assert {p: gauge("accounts_projection_position", p) for p in serving} == {
        "support_queue": 0, "portal": middle, "audit": middle, "audit_tree": head}
    assert {p: gauge("accounts_projection_lag_events", p) for p in serving} == {
        "support_queue": head, "portal": head - middle, "audit": head - middle,
        "audit_tree": 0}
    assert gauge("accounts_projection_lag_seconds", "audit_tree") == 0
    # Two positions behind the head: the first event after each, read once each.
    assert sorted(reads) == [1, middle + 1]
    services.projections.start()
    settle(services)
