"""The pure core of account-lifecycle: aggregates, events, policies. No I/O here."""
