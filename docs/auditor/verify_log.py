#!/usr/bin/env python3
"""An auditor's own check of the service's event log, run on the auditor's machine.

It needs Python 3.11+, `cryptography`, the service's address, an auditor token and the log's
public key as the auditor keeps it; it imports nothing of the service's code, so that what it
accepts does not depend on the service being honest. It fetches the signed checkpoint and
verifies its Ed25519 signature (C2SP tlog-checkpoint and signed-note), then, over HTTP,
RFC 9162 proofs against the signed root:

- with --previous FILE (a checkpoint saved by an earlier run): the consistency proof that
  today's log extends it, nothing rewritten, removed, inserted or reordered;
- with --position P (repeatable) or --sample K: the inclusion proof of those events, each
  event's hash read from the global feed;
- with --all: every event of the feed, whose hashes must make the signed root exactly.

    AUDIT_TOKEN=... python docs/auditor/verify_log.py --url https://espace-client.example.fr \\
        --public-key BASE64 --previous last.checkpoint --sample 20 --save last.checkpoint

Exit status 0 when everything verifies; 1 with a FAIL line per failure; 2 for a usage or
network error. Without --public-key the service's own key is used, which proves only that the
service agrees with itself: say so to whoever reads the result.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FEED_PAGE = 1000


class Failed(Exception):
    pass


# --- RFC 9162 §2.1 ----------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def interior(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def tree_head(entries: list[bytes]) -> bytes:
    """MTH over all entries, with a stack of complete subtrees (the RFC's recursion splits off
    the largest power of two on the left, which is what merging equal-sized subtrees does)."""
    if not entries:
        return sha256(b"")
    stack: list[tuple[int, bytes]] = []  # (number of leaves, hash)
    for entry in entries:
        size, digest = 1, leaf(entry)
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, digest = size + left_size, interior(left, digest)
        stack.append((size, digest))
    digest = stack.pop()[1]
    while stack:
        digest = interior(stack.pop()[1], digest)
    return digest


def inclusion_holds(
    leaf_hash: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = interior(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = interior(r, p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root


def consistency_holds(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2; equal sizes need an empty proof and equal roots."""
    if first <= 0 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = interior(c, fr), interior(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            sr = interior(sr, c)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and fr == first_root and sr == second_root


# --- C2SP signed-note and tlog-checkpoint --------------------------------------------------


def open_note(note: str, origin: str, public_key: bytes) -> tuple[int, bytes]:
    """(size, root) of a checkpoint signed for `origin` by `public_key`."""
    text, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise Failed("the checkpoint is not a signed note")
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise Failed(f"the checkpoint is not one of {origin}")
    if not lines[1].isdigit():
        raise Failed("the checkpoint's size is not a number")
    root = base64.b64decode(lines[2], validate=True)
    key_id = sha256(origin.encode() + b"\n\x01" + public_key)[:4]
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            continue
        name, _, stamp = line[2:].partition(" ")
        raw = base64.b64decode(stamp)
        if name != origin or raw[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(
                raw[4:], (text + "\n").encode()
            )
        except InvalidSignature:
            raise Failed("the checkpoint's signature does not verify") from None
        return int(lines[1]), root
    raise Failed("the checkpoint carries no signature by this key")


# --- HTTP --------------------------------------------------------------------------------------


class Service:
    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/") + "/api/v1/audit"
        self.token = token

    def get(self, path: str, **query: int) -> dict:
        address = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        if not address.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) address: {address}")
        request = urllib.request.Request(  # noqa: S310  (http(s) only, checked above)
            address, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.load(answer)

    def feed(self, after: int = 0):
        while True:
            page = self.get("/events", after=after, limit=FEED_PAGE)
            yield from page["events"]
            if not page["events"]:
                return
            after = page["next_after"]


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- The checks --------------------------------------------------------------------------------


def check(args: argparse.Namespace, say) -> list[str]:
    service = Service(args.url, args.token)
    key = service.get("/public-key")
    origin = args.origin or key["origin"]
    if args.public_key is None:
        say("WARNING no --public-key: the service's own key is trusted")
    public_key = b64(args.public_key or key["public_key"])
    served = service.get("/checkpoint")
    size, root = open_note(served["checkpoint"], origin, public_key)
    if (size, root) != (served["size"], b64(served["root_hash"])):
        raise Failed("the checkpoint's size and root differ from the ones served beside it")
    say(f"OK checkpoint: {size} events, root {served['root_hash']}, signature verified")
    failures: list[str] = []
    if args.previous is not None:
        old = open_note(args.previous.read_text("utf-8"), origin, public_key)
        failures += extends(service, old, (size, root), say)
    events = []
    if args.all or args.sample:
        events = [event for _, event in zip(range(size), service.feed(), strict=False)]
    if args.all:
        failures += whole(events, size, root, say)
    picked = secrets.SystemRandom().sample(events, min(args.sample, len(events)))
    chosen = {event["position"]: event for event in picked}
    for position in args.position:
        found = next(service.feed(after=position - 1), None)
        if found is None or found["position"] != position:
            failures.append(f"position {position}: no such event in the feed")
        else:
            chosen[position] = found
    for _, event in sorted(chosen.items()):
        failures += inclusion(service, event, size, root, say)
    if args.save is not None:
        args.save.write_text(served["checkpoint"], "utf-8")
    return failures


def extends(
    service: Service, old: tuple[int, bytes], new: tuple[int, bytes], say
) -> list[str]:
    (old_size, old_root), (size, root) = old, new
    proof = service.get("/consistency", **{"from": old_size, "to": size})["hashes"]
    if consistency_holds(old_size, size, old_root, root, [b64(h) for h in proof]):
        say(f"OK consistency: the log of {size} events extends the one of {old_size}")
        return []
    return [f"consistency from {old_size} to {size}: the proof does not hold"]


def whole(events: list[dict], size: int, root: bytes, say) -> list[str]:
    if len(events) != size:
        return [f"the feed holds {len(events)} events, the checkpoint {size}"]
    if tree_head([b64(e["hash"]) for e in events]) != root:
        return ["the feed's hashes do not make the signed root"]
    say(f"OK all {size} events of the feed make the signed root")
    return []


def inclusion(service: Service, event: dict, size: int, root: bytes, say) -> list[str]:
    position = event["position"]
    try:
        proof = service.get(f"/events/{position}/inclusion", size=size)
    except urllib.error.HTTPError as error:
        return [f"position {position}: no inclusion proof ({error.code})"]
    hashes = [b64(h) for h in proof["hashes"]]
    if inclusion_holds(leaf(b64(event["hash"])), proof["leaf_index"], size, hashes, root):
        say(f"OK position {position} is leaf {proof['leaf_index']} of the signed tree")
        return []
    return [f"position {position}: the inclusion proof does not hold"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the service, e.g. https://host")
    # From the environment by default: a command line is visible to every user of the machine.
    parser.add_argument("--token", default=os.environ.get("AUDIT_TOKEN"),
                        help="an auditor token (default: $AUDIT_TOKEN)")
    parser.add_argument("--public-key", help="the log's Ed25519 key, base64, as you keep it")
    parser.add_argument("--origin", help="the log's origin (default: as the service says)")
    parser.add_argument("--previous", type=Path, help="a checkpoint saved by an earlier run")
    parser.add_argument("--save", type=Path, help="where to save today's checkpoint")
    parser.add_argument("--position", type=int, action="append", default=[],
                        help="an event whose inclusion to prove (repeatable)")
    parser.add_argument("--sample", type=int, default=0, help="prove K random events")
    parser.add_argument("--all", action="store_true", help="rebuild the root from the feed")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("an auditor token is needed: set AUDIT_TOKEN or pass --token=TOKEN")
    try:
        failures = check(args, say=print)
    except Failed as error:
        failures = [str(error)]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        print(f"ERROR {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
