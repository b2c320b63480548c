"""One sign-in against one bcrypt verification at the same cost, in the same run.

    .venv/bin/python -m bench.sign_in_cost [--rounds 12] [--n 20] [--database-url URL]

Prints the median milliseconds of each and their ratio. In-process (Flask's test client), so
it measures our code and the store, not HTTP parsing; `make bench` (issue 8) measures through
gunicorn under load.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import bcrypt

from adapters.hashing import BcryptHasher
from app import create_app
from bench.common import arguments, bench_settings, give_own_password, store_name, timed_ms
from domain.credentials import prehash

DEMO = Path(__file__).resolve().parent.parent / "demo" / "members.csv"
PASSWORD = "Où sont passées les clés du château ?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--n", type=int, default=20)
    args = arguments(parser)

    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(
            tmp, args.database_url, ACCOUNTS_BCRYPT_ROUNDS=str(args.rounds)
        )
        app = create_app(settings)
        services = app.extensions["accounts"]
        services.directory.import_csv(DEMO.read_text(encoding="utf-8"))
        client = app.test_client()
        client.post("/api/v1/registrations", json={
            "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
            "birth_date": "1978-04-12", "email": "helene@example.org",
        })
        notifications = services.lifecycle.recorder.select_notifications(start=1, limit=50)
        account = next(
            services.lifecycle.repository.get(n.originator_id)
            for n in notifications
            if n.topic.endswith("AccountOpened")
        )
        # Give the member an own password directly through the application (no e-mail needed).
        give_own_password(services, account.id, BcryptHasher(args.rounds).hash(PASSWORD))
        body = {"identifier": account.identifier, "password": PASSWORD}

        def sign_in() -> None:
            response = client.post("/api/v1/sessions", json=body)
            assert response.status_code == 201, response.json

        stored = bcrypt.hashpw(prehash(PASSWORD), bcrypt.gensalt(args.rounds))
        verify_ms, _ = timed_ms(lambda: bcrypt.checkpw(prehash(PASSWORD), stored), args.n)
        sign_in_ms, _ = timed_ms(sign_in, args.n)
        services.close()
    store = store_name(settings)
    print(f"bcrypt cost {args.rounds}, {store}, median of {args.n}:")
    print(f"  one bcrypt verification: {verify_ms:8.1f} ms")
    print(f"  one sign-in (POST /api/v1/sessions, in-process): {sign_in_ms:8.1f} ms")
    print(f"  ratio sign-in / verification: {sign_in_ms / verify_ms:.3f}")
    print(f"  everything but the hash: {sign_in_ms - verify_ms:.1f} ms")


if __name__ == "__main__":
    main()
