"""Which apt view knows a kernel: the host's own lists, or a private view of other Debian suites.

Bookworm's 6.1 and 6.12 come through the host's apt configuration.  Newer series
(7.x) live in suites a bookworm host does not list (``trixie-backports``,
``sid``); kvmnull reaches them with a sources list, package lists and an apt
cache of its own under the cache folder, so the host's apt setup is never
touched.  The private view uses the Debian mirror the host already uses.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..core import process
from ..core.errors import PackageError
from ..core.progress import Progress

# suites that carry kernels newer than bookworm's, in the order they are tried
EXTRA_SUITES = ("trixie-backports", "sid")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
# the private lists are refreshed when older than this
MAX_AGE = 24 * 3600.0
UPDATE_TIMEOUT = 600.0
# Debian's ABI suffix (+debNN) to the suite whose userland built it
CODENAMES = {"11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}


@dataclass(frozen=True)
class View:
    """One way of asking apt: its name and the options that select its lists."""

    name: str
    options: tuple[str, ...] = ()

    def argv(self, tool: str, *args: str) -> list[str]:
        return [tool, *self.options, *args]


HOST = View("host apt")
# where the host's apt keeps its sources and package lists (apt's defaults)
HOST_SOURCES = Path("/etc/apt")
HOST_LISTS = Path("/var/lib/apt/lists")


def _listing(folder: Path) -> list[str]:
    """Name, size and mtime of every file directly in ``folder``: what changes when apt updates it."""
    if not folder.is_dir():
        return []
    rows = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            rows.append(f"{path.name} {stat.st_size} {stat.st_mtime_ns}")
    return rows


def lists_state(cache: Path) -> str | None:
    """What apt's answers depend on, as text: the host's sources and lists and the private view's.
    None when the private lists are stale (the next look-up updates them, so no earlier answer holds)."""
    base = cache / "apt"
    stamp = base / "updated"
    if stamp.exists() and time.time() - stamp.stat().st_mtime >= MAX_AGE:
        return None
    sources = base / "sources.list"
    parts = [
        "host sources", *_listing(HOST_SOURCES), *_listing(HOST_SOURCES / "sources.list.d"),
        "host lists", *_listing(HOST_LISTS),
        "private sources", sources.read_text() if sources.exists() else "-",
        "private lists", *_listing(base / "lists"),
    ]
    return "\n".join(parts)


def _sources(etc: Path) -> list[tuple[str, list[str]]]:
    """(URI, suites) of every Debian ``deb`` source the host lists, in one-line or deb822 form."""
    found: list[tuple[str, list[str]]] = []
    files = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in files:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#")[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    found.append((words[1], [words[2]]))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for block in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields = {k.lower(): v.split() for k, v in re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", block, re.M)}
            if "deb" in fields.get("types", []) and "no" not in fields.get("enabled", []):
                found += [(uri, fields.get("suites", [])) for uri in fields.get("uris", [])]
    return found


def host_mirror(etc: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the host's apt uses (a source of a Debian suite, not its -security twin)."""
    suites = set(CODENAMES.values()) | {"stable", "testing", "sid", "unstable"}
    for uri, names in _sources(etc):
        if uri.rstrip("/").endswith("/debian") and any(n.split("-")[0] in suites for n in names):
            return uri.rstrip("/")
    return FALLBACK_MIRROR


def suite_of(version: str) -> str | None:
    """The suite a kernel package version was built for, e.g. ``7.3.4-1~bpo13+1`` -> trixie."""
    match = re.search(r"(?:~bpo|[~+]deb)(\d+)", version)
    return CODENAMES.get(match.group(1)) if match else None


_MADISON = re.compile(r"^\s*(?P<package>\S+)\s*\|\s*(?P<version>\S+)\s*\|\s*\S+\s+(?P<suite>[\w-]+)/\w+", re.M)


def suite_in_madison(text: str, package: str, version: str) -> str | None:
    """The suite whose userland built ``package`` at ``version``, from ``apt-cache madison`` output:
    the archive it comes from, without -backports/-security/-updates (trixie-backports -> trixie)."""
    for m in _MADISON.finditer(text.replace("\r", "")):
        if m.group("package") == package and m.group("version") == version:
            return re.sub(r"-(?:backports|security|updates|proposed-updates)$", "", m.group("suite"))
    return None


def extra_view(cache: Path, progress: Progress, mirror: str | None = None) -> View:
    """The private view of :data:`EXTRA_SUITES`, its package lists fetched when missing or stale."""
    base = cache / "apt"
    lists, archives = base / "lists", base / "cache" / "archives"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    mirror = mirror or host_mirror()
    sources = base / "sources.list"
    text = "".join(f"deb [signed-by={KEYRING}] {mirror} {suite} main\n" for suite in EXTRA_SUITES)
    settings = [f"Dir::Etc::SourceList={sources}", "Dir::Etc::SourceParts=/dev/null",
                f"Dir::State::Lists={lists}", f"Dir::Cache={base / 'cache'}"]
    if os.geteuid() == 0:  # apt's download sandbox user could not write into the private folders
        settings.append("APT::Sandbox::User=root")
    options = tuple(word for setting in settings for word in ("-o", setting))
    view = View(f"private apt ({', '.join(EXTRA_SUITES)})", options)
    stamp = base / "updated"
    fresh = stamp.exists() and time.time() - stamp.stat().st_mtime < MAX_AGE
    if fresh and sources.exists() and sources.read_text() == text:
        return view
    sources.write_text(text)
    stamp.unlink(missing_ok=True)
    progress.stage("kernel", f"apt-get update of {', '.join(EXTRA_SUITES)} from {mirror} (private lists)")
    process.run(view.argv("apt-get", "-q", "update"), stage=f"updating the package lists of {', '.join(EXTRA_SUITES)}",
                log=cache / "logs" / "apt.log", progress=progress, timeout=UPDATE_TIMEOUT, error=PackageError,
                remedy=f"check that {mirror} is reachable; the lists go to {lists}")
    stamp.touch()
    return view
