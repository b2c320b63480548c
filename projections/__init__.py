"""Read side: each projection turns events into one read model (portal, support queue, audit)."""
