"""A session's device in words, from its User-Agent header: « Chrome 131 sur Windows »,
« Safari sur iPhone », « Appareil inconnu ». ua-parser's rules (ua-parser-builtins) are the
maintained ones; a home-made list of patterns would age within months."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

UNKNOWN = "Appareil inconnu"
# The families a member knows under another name.
BROWSERS = {
    "Mobile Safari": "Safari", "Chrome Mobile": "Chrome", "Chrome Mobile iOS": "Chrome",
    "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox", "Edge Mobile": "Edge",
    "HeadlessChrome": "Chrome",
}
SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
PHONES = ("iPhone", "iPad")


@lru_cache(maxsize=1024)  # a member's few devices, seen on every listing
def device_name(user_agent: str | None) -> str:
    if not user_agent:
        return UNKNOWN
    found = parse(user_agent)
    browser = found.user_agent
    name = None
    if browser is not None and browser.family != "Other":
        name = BROWSERS.get(browser.family, browser.family)
    where = None
    if found.device is not None and found.device.family in PHONES:
        where = found.device.family
    elif found.os is not None and found.os.family != "Other":
        where = SYSTEMS.get(found.os.family, found.os.family)
    # A version helps tell two desktops apart; a phone's browser follows its system.
    if name is not None and where not in PHONES and found.os is not None \
            and found.os.family not in ("iOS", "Android") and browser and browser.major:
        name = f"{name} {browser.major}"
    if name and where:
        return f"{name} sur {where}"
    return name or where or UNKNOWN
