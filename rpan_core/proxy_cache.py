"""The display proxies on disk: listed, kept within a size budget, cleaned (``rpan proxy``).

Why: a proxy costs 60-130 KB a frame, so a 10-minute 1080p video takes 1-2 GB and a
collection of clips fills a disk unnoticed. Each proxies folder (a project's
``proxies/`` or the user cache's) therefore keeps at most a budget
(``RPAN_PROXY_BUDGET_MB``, default :data:`DEFAULT_BUDGET_MB`): after every build the
least recently used *whole* proxies are deleted until the rest fits, proxies of an
older layout first. A proxy is only a cache (it is rebuilt from the video when
needed), so evicting one costs time, never data. Proxies open in this process (the
video on screen, the one just built) are never evicted. "Last used" is the mtime of
a proxy's ``meta.json``, touched each time a :class:`rpan_core.proxy.Proxy` opens it.

``rpan proxy --list`` shows each proxy (video, frames, size, last use) and the total;
``rpan proxy --clean`` trims to the budget (``--budget-mb``), ``--clean --all`` deletes
every proxy; ``rpan proxy VIDEO...`` builds proxies ahead of time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rpan_core.errors import ConfigError

__all__ = ["DEFAULT_BUDGET_MB", "ProxyEntry", "budget_bytes", "enforce_budget", "list_proxies", "remove_proxies",
           "configure_parser", "cli_main"]

#: Default size budget of one proxies folder, in MB (about 100 minutes of 1080p video at 960 px).
DEFAULT_BUDGET_MB = 10_000

_NAME = re.compile(r"^[0-9a-f]{8,64}-\d+-v(\d+)$")


@dataclass(frozen=True)
class ProxyEntry:
    """One proxy folder on disk."""

    folder: Path
    version: int
    video: str
    frames: int
    size_bytes: int
    last_used: float  # seconds since the epoch

    @property
    def current(self) -> bool:
        """Of the layout this code reads (older ones are only evicted)."""
        from rpan_core.proxy import PROXY_VERSION

        return self.version == PROXY_VERSION


def budget_bytes() -> int:
    """The size budget per proxies folder: ``RPAN_PROXY_BUDGET_MB`` (MB), else :data:`DEFAULT_BUDGET_MB`."""
    raw = os.environ.get("RPAN_PROXY_BUDGET_MB", "").strip()
    if not raw:
        return DEFAULT_BUDGET_MB * 2 ** 20
    try:
        mb = float(raw)
    except ValueError:
        raise ConfigError(f"RPAN_PROXY_BUDGET_MB={raw!r} is not a number of megabytes; set it to e.g. 5000") from None
    if mb < 0:
        raise ConfigError(f"RPAN_PROXY_BUDGET_MB={raw!r} is negative; set it to 0 or more megabytes")
    return int(mb * 2 ** 20)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for f in folder.iterdir():
        try:
            if f.is_file():
                total += f.stat().st_size
        except OSError:
            pass
    return total


def list_proxies(root: str | os.PathLike) -> list[ProxyEntry]:
    """The finished proxies under ``root`` (any layout version), least recently used first.
    Temp folders of builds still running or killed are not listed (``rpan_core.atomic`` owns those)."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        m = _NAME.match(d.name)
        if not m or not d.is_dir():
            continue
        meta_path = d / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
            used = meta_path.stat().st_mtime
        except (OSError, ValueError):
            meta, used = {}, 0.0  # damaged: listed as the least recently used
        out.append(ProxyEntry(d, int(m.group(1)), str(meta.get("video", "?")), int(meta.get("frame_count", 0) or 0),
                              _folder_bytes(d), float(used)))
    return sorted(out, key=lambda e: (e.current, e.last_used, e.folder.name))


def remove_proxies(entries: Iterable[ProxyEntry]) -> list[Path]:
    """Delete these proxy folders (skipping those open in this process); what was removed."""
    from rpan_core.proxy import in_use

    busy = in_use()
    removed = []
    for e in entries:
        if e.folder.resolve() in busy:
            continue
        shutil.rmtree(e.folder, ignore_errors=True)
        if not e.folder.exists():
            removed.append(e.folder)
    return removed


def enforce_budget(root: str | os.PathLike, budget: int | None = None,
                   keep: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Evict least-recently-used whole proxies (older layouts first) until ``root`` fits ``budget`` bytes
    (default :func:`budget_bytes`). ``keep`` and the proxies open in this process stay. Returns the
    removed folders."""
    from rpan_core.proxy import in_use

    limit = budget_bytes() if budget is None else int(budget)
    entries = list_proxies(root)
    total = sum(e.size_bytes for e in entries)
    protected = {Path(k).resolve() for k in keep} | in_use()
    victims = []
    for e in entries:
        if total <= limit:
            break
        if e.folder.resolve() in protected:
            continue
        victims.append(e)
        total -= e.size_bytes
    return remove_proxies(victims)


# ------------------------------------------------------------------------------------------- CLI
def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="*", help="videos to build proxies for now (else: list or clean)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--project", help="the project whose proxies/ folder to use (default: the user cache)")
    where.add_argument("--root", help="a proxies folder to use")
    parser.add_argument("--list", action="store_true",
                        help="list the proxies, their sizes and last use (also printed after any other action)")
    parser.add_argument("--clean", action="store_true",
                        help="delete least recently used proxies until the folder fits the budget")
    parser.add_argument("--all", action="store_true", help="with --clean: delete every proxy")
    parser.add_argument("--budget-mb", type=float, default=None,
                        help=f"size budget in MB (default: RPAN_PROXY_BUDGET_MB or {DEFAULT_BUDGET_MB})")


def _print_table(entries: list[ProxyEntry], root: Path, limit: int) -> None:
    print(f"{'video':<32} {'frames':>7} {'MB':>9}  {'last used':<16}  folder")
    for e in sorted(entries, key=lambda e: -e.last_used):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used)) if e.last_used else "unknown"
        note = "" if e.current else "  (old layout)"
        print(f"{e.video[:32]:<32} {e.frames:>7} {e.size_bytes / 2 ** 20:>9.1f}  {when:<16}  {e.folder.name}{note}")
    total = sum(e.size_bytes for e in entries)
    print(f"{len(entries)} proxies, {total / 2 ** 20:.1f} MB in {root} (budget {limit / 2 ** 20:.0f} MB)")


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.proxy import build_proxy, proxy_root

    if args.all and not args.clean:
        raise ConfigError("--all only goes with --clean (rpan proxy --clean --all deletes every proxy)")
    if args.budget_mb is not None and args.budget_mb < 0:
        raise ConfigError("--budget-mb must be 0 or more")
    root = Path(args.root) if args.root else proxy_root(args.project)
    if args.project and not Path(args.project).is_dir():
        raise ConfigError(f"project folder {args.project} does not exist; pass an existing project")
    limit = int(args.budget_mb * 2 ** 20) if args.budget_mb is not None else budget_bytes()
    for v in args.videos:
        if not Path(v).is_file():
            raise ConfigError(f"{v}: no such video file; pass a video path")
        p = build_proxy(v, root, budget_bytes=limit)
        print(f"{Path(v).name}: proxy of {p.frame_count} frames, {p.size_bytes / 2 ** 20:.1f} MB in {p.folder}")
        p.close()
    if args.clean:
        entries = list_proxies(root)
        removed = remove_proxies(entries) if args.all else enforce_budget(root, limit)
        freed = sum(e.size_bytes for e in entries if e.folder in set(removed))
        print(f"removed {len(removed)} proxies ({freed / 2 ** 20:.1f} MB)")
    _print_table(list_proxies(root), root, limit)  # always: what is there now, and its size
    return 0
