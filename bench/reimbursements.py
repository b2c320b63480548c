"""GET /api/v1/me/reimbursements with 10 and with 5,000 reimbursements, and the claims feed's
ingest rate, in the same run.

    .venv/bin/python -m bench.reimbursements --database-url postgresql://postgres@127.0.0.1/x

In-process through Flask's test client (our code and the store, not HTTP parsing). The
member's items are spread over the last 11 months so that all of them are in the window.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta

from adapters.hashing import BcryptHasher
from app import create_app
from bench.common import arguments, bench_settings, give_own_password, store_name, timed_ms
from bench.sign_in_cost import DEMO, PASSWORD

SIZES = (10, 5_000)
READS = 100


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, args.database_url, ACCOUNTS_BCRYPT_ROUNDS="4")
        app = create_app(settings)
        services = app.extensions["accounts"]
        services.directory.import_csv(DEMO.read_text(encoding="utf-8"))
        client = app.test_client()
        claims = {"Authorization": "Bearer " + services.staff_tokens.create("bench", "claims")}
        client.post("/api/v1/registrations", json={
            "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
            "birth_date": "1978-04-12", "email": "helene@example.org",
        })
        account = next(
            services.lifecycle.repository.get(n.originator_id)
            for n in services.lifecycle.recorder.select_notifications(start=1, limit=50)
            if n.topic.endswith("AccountOpened")
        )
        give_own_password(services, account.id, BcryptHasher(4).hash(PASSWORD))
        token = client.post(
            "/api/v1/sessions", json={"identifier": account.identifier, "password": PASSWORD}
        ).json["token"]
        member = {"Authorization": f"Bearer {token}"}

        now = datetime.now(UTC)
        recorded = 0
        results = {}
        ingest_seconds = 0.0
        for size in SIZES:
            started = time.perf_counter()
            while recorded < size:
                recorded += 1
                paid = now - timedelta(minutes=recorded * 90)
                response = client.post("/api/v1/internal/reimbursements", headers=claims, json={
                    "reimbursement_id": f"R{recorded}", "member_number": "M1000003",
                    "contract_id": "SANTE-IND-001", "label": "Consultation",
                    "care_date": paid.date().isoformat(), "paid_at": paid.isoformat(),
                    "amount": "25.00",
                })
                assert response.status_code == 202, response.json
            ingest_seconds += time.perf_counter() - started
            last = services.lifecycle.recorder.max_notification_id()
            services.portal.wait("portal", last, timeout=120)
            page = client.get("/api/v1/me/reimbursements", headers=member).json
            assert sum(len(c["reimbursements"]) for c in page["contracts"]) == size
            results[size] = timed_ms(
                lambda: client.get("/api/v1/me/reimbursements", headers=member), READS
            )
        services.close()
    store = store_name(settings)
    print(f"GET /api/v1/me/reimbursements, {store}, {READS} reads (median / p99 ms):")
    for size in SIZES:
        print(f"  {size:>5} reimbursements: {results[size][0]:.1f} / {results[size][1]:.1f}")
    print(f"  ratio of medians: {results[SIZES[-1]][0] / results[SIZES[0]][0]:.1f}")
    print(f"claims feed ingest: {recorded} in {ingest_seconds:.1f} s = "
          f"{recorded / ingest_seconds:.0f} reimbursements/s (one request each, in-process)")


if __name__ == "__main__":
    main()
