"""S3 purge, listing ahead: pages fetched on threads of their own, handed on in key order.

- Pipelined: the listing runs on its own thread, up to `AHEAD` pages ahead of the purge, so the
  next list call is in flight while a page is decided and its deletes are sent.
- Split where the keys allow: one listing yields at most 1,000 keys per call, so slow list calls
  cap deletes (at 500 ms a call, 2,000 keys/s against S3's 3,500 deletes/s). When the purge has
  waited for pages (more than `STARVED_SECONDS` a page: the listing sets the pace, not the
  deletes) and the prefix is large (`SPLIT_AFTER` full pages so far),
  the rest of the key range is cut at the directories below the prefix (one `/`-delimited list
  call) or, where there are not two, at the next characters the keys use (found with one-key
  probes beside the listing, a character deeper at a time until there are enough) into
  at most `MAX_RANGES` ranges listed in parallel; the ranges not yet handed on buffer up to
  `BUFFERED` pages between them, so they run ahead while the ones before are read.
- Not where the process is short of CPU: a purge that already uses most of the CPU it can get
  (`CPU_BOUND` of Lambda's share for its memory, of one core at most under the GIL) waits for
  pages because parsing them is slow, and more listing threads and probes only take CPU from
  it (at 512 MB, 29% of a core, a split cut the simulated S3 prefix from 3,171 to 2,584
  objects/s).

Each range is `(low, high]`: listed from `StartAfter`/`KeyMarker = low` and ended at the first key
past `high`, so the ranges cover every key exactly once whatever boundaries the probes found
(they only decide how evenly the work is shared). Pages are handed on range by range in key
order, so the purge sees the same entries in the same order as from one listing: the caps, the
age rule and the resume cursor work as they do without a split.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from functions.purge.s3_listing import PAGE_SIZE, S3Settings

AHEAD = 4  # pages the range being read may list ahead of the purge (about 0.6 MB a page)
# Pages all the ranges not yet being read may hold between them: a range is read only after
# the ones before it, so what it lists meanwhile must wait somewhere (about 40 MB at most).
BUFFERED = 64
MAX_RANGES = 8  # ranges listed at once after a split
SPLIT_AFTER = 5  # full pages listed before a split is considered: small prefixes never split
# Split only when the purge sat waiting for pages longer than this per page: then the listing,
# not the deletes, sets the pace (at 250 ms or more a call one listing cannot feed S3's 3,500
# deletes/s). Deletes that are slow themselves (throttled, or a busy endpoint) leave the listing
# ahead and the purge never waiting, and no split.
STARVED_SECONDS = 0.1
# A probe slower than this share of a page's list call: no split. S3's list time grows with
# the keys it returns, so a one-key probe takes a tenth of a page's or less; where it takes more
# the endpoint's time goes elsewhere (moto: 25% to 140%, a scan of the bucket per call).
PROBE_SHARE = 0.15
MAX_DEPTH = 8  # characters past the prefix a split looks at
PROBES = 96  # one-key probes a split may spend finding boundaries
ALPHABET = 24  # characters a level probes after, at most
CPU_BOUND = 0.7  # a process using this share of the CPU it can get is short of CPU: no split
FULL_CORE_MB = 1769  # Lambda's memory size with one vCPU; a smaller size gets a share of one
NAMES = ("Versions", "DeleteMarkers", "Contents")
_END = object()


@dataclass
class Range:
    """One slice of the key range, listed on its own thread into a bounded queue."""

    low: str | None  # list strictly after this key (None: from the start)
    high: str | None  # stop after this key (None: to the end)
    last: str | None = None  # the last key handed on
    pages: queue.Queue[Any] = field(default_factory=queue.Queue)  # (item, slot it holds)
    room: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(AHEAD))


class Prefetch:
    """Pages of one job's listing, in key order, listed ahead and (when slow) in parallel."""

    def __init__(
        self,
        s3: Any,
        job: S3Settings,
        versioned: bool,
        start: str | None,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.s3, self.job, self.versioned, self.clock = s3, job, versioned, clock
        self.cpu_clock = cpu_clock  # the process's CPU seconds, every thread's
        self.ranges = [Range(start, None)]
        self.cancelled = threading.Event()
        self.reading = 0  # the index of the range the purge is reading
        self._buffered = threading.Semaphore(BUFFERED)
        self.waited = 0.0  # seconds the purge waited for a page of the first range
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        self._thread(self._list, self.ranges[0], True)
        try:
            while True:
                with self._lock:
                    if self.reading >= len(self.ranges):
                        return
                    current = self.ranges[self.reading]
                while True:
                    waiting = self.clock()
                    item, slot = current.pages.get()
                    if self.reading == 0 and current.last is not None:
                        self.waited += self.clock() - waiting
                    if slot is not None:
                        slot.release()
                    if item is _END:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                with self._lock:
                    self.reading += 1
        finally:
            self.cancelled.set()

    def _thread(self, target: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=target, args=args, name="purge-list", daemon=True).start()

    def _list(self, part: Range, first: bool = False) -> None:
        try:
            self._pages(part, first)
        except BaseException as exc:  # handed to the purge where it reaches this range
            self._put(part, exc)
        self._put(part, _END)

    def _pages(self, part: Range, first: bool) -> None:
        full, listing = 0, 0.0  # full pages, and seconds spent in their list calls
        began, cpu = self.clock(), self.cpu_clock()
        seen: set[str] = set()  # the characters of the keys, until a split is decided
        pages = iter(self._paginate(part.low))
        while True:
            called = self.clock()
            page = next(pages, None)
            if page is not None and page_size(page) >= PAGE_SIZE:
                listing += self.clock() - called
            if page is None:
                return
            with self._lock:  # `high` may move under a split running beside this listing
                kept, ended = within(page, part.low, part.high)
                part.last = last_key(kept) or part.last
            if not self._put(part, kept) or ended:
                return
            full += page_size(page) >= PAGE_SIZE
            if first and full <= SPLIT_AFTER:
                seen.update(
                    *(e["Key"][len(self.job.prefix) :] for n in NAMES for e in kept.get(n, ()))
                )
            if first and full == SPLIT_AFTER and self.waited / full > STARVED_SECONDS:
                busy = (self.cpu_clock() - cpu) / max(self.clock() - began, 1e-9)
                if busy < CPU_BOUND * cpu_share():
                    self._thread(self._split, part, alphabet(seen), listing / full)

    def _split(self, part: Range, chars: str = "", page_seconds: float = 0.0) -> None:
        """Cut what `part` has not listed yet into ranges listed in parallel (see the module
        docstring); `part` goes on listing while the boundaries are found. Not where a one-key
        probe costs more than `PROBE_SHARE` of a page (S3's list time grows with the keys):
        there list calls are slow because the endpoint is busy, not far, and more of them in
        parallel would only queue behind each other and the deletes."""
        with self._lock:
            last, high = part.last, part.high
        if last is None or self.cancelled.is_set():
            return
        try:
            called = self.clock()
            self._probe(last)
            if self.clock() - called > PROBE_SHARE * page_seconds:
                return
            points = self._directories(last, high)
            if len(points) < 2:
                points = boundaries(self._probe, self.job.prefix, last, high, chars)
        except Exception:  # a failed probe only means no split; the listing goes on
            return
        with self._lock:
            edges = [b for b in points if part.last is None or b > part.last]
            if not edges:
                return
            part.high = edges[0]
            added = [Range(low, up) for low, up in itertools.pairwise([*edges, high])]
            at = self.ranges.index(part) + 1
            self.ranges[at:at] = added
        for new in added:
            self._thread(self._list, new)

    def _put(self, part: Range, item: Any) -> bool:
        """Hand on `item` unless the purge has stopped reading (False once it has): a page takes
        room of its range's own while the purge reads that range, else of the shared buffer."""
        if item is _END or isinstance(item, BaseException):
            part.pages.put((item, None))
            return True
        while not self.cancelled.is_set():
            with self._lock:
                read_now = self.ranges[self.reading] is part
            slot = part.room if read_now else self._buffered
            if slot.acquire(timeout=0.1):
                part.pages.put((item, slot))
                return True
        return False

    def _paginate(self, low: str | None) -> Iterator[Mapping[str, Any]]:
        config = {"PageSize": PAGE_SIZE}
        if self.versioned:
            marker = {"KeyMarker": low} if low else {}
            paginator = self.s3.get_paginator("list_object_versions")
        else:
            marker = {"StartAfter": low} if low else {}
            paginator = self.s3.get_paginator("list_objects_v2")
        yield from paginator.paginate(
            Bucket=self.job.bucket, Prefix=self.job.prefix, PaginationConfig=config, **marker
        )

    def _directories(self, after: str, high: str | None) -> list[str]:
        """Split points from one `/`-delimited list call: the directories just below the prefix
        that hold keys after `after` (up to `high`), evenly thinned to `MAX_RANGES` - 1. Where
        the keys have that shape this is one call where probing takes dozens (each as dear as a
        page on an emulator); fewer than two found: probe instead."""
        common = {"Bucket": self.job.bucket, "Prefix": self.job.prefix, "Delimiter": "/"}
        if self.versioned:
            page = self.s3.list_object_versions(KeyMarker=after, **common)
        else:
            page = self.s3.list_objects_v2(StartAfter=after, **common)
        found = [p["Prefix"] for p in page.get("CommonPrefixes", ())]
        dirs = [d for d in found if d > after and (high is None or d <= high)]
        count = min(len(dirs), MAX_RANGES - 1)
        return [dirs[i * len(dirs) // count] for i in range(count)] if count else []

    def _probe(self, after: str) -> str | None:
        """The first key strictly after `after` under the prefix, or None."""
        common = {"Bucket": self.job.bucket, "Prefix": self.job.prefix, "MaxKeys": 1}
        if self.versioned:
            page = self.s3.list_object_versions(KeyMarker=after, **common)
        else:
            page = self.s3.list_objects_v2(StartAfter=after, **common)
        keys = [e["Key"] for name in NAMES for e in page.get(name, ()) if e["Key"] > after]
        return min(keys) if keys else None


def cpu_share() -> float:
    """Cores' worth of CPU this process can use: in Lambda its memory size's share of a vCPU
    (`$AWS_LAMBDA_FUNCTION_MEMORY_SIZE` / 1,769 MB), and one core at most, as Python code holds
    the GIL (parsing pages is Python code)."""
    try:
        memory = float(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", FULL_CORE_MB))
    except ValueError:
        memory = FULL_CORE_MB
    return min(max(memory, 1.0) / FULL_CORE_MB, 1.0)


def within(
    page: Mapping[str, Any], low: str | None, high: str | None
) -> tuple[dict[str, Any], bool]:
    """The page's entries in (low, high], and whether the page went past `high` (some
    S3-compatible endpoints list the marker key itself: it belongs to the range before)."""
    kept = {name: list(page.get(name, ())) for name in NAMES if name in page}
    ended = False
    for name, entries in kept.items():
        inside = [
            e
            for e in entries
            if (low is None or e["Key"] > low) and (high is None or e["Key"] <= high)
        ]
        ended = ended or any(high is not None and e["Key"] > high for e in entries)
        kept[name] = inside
    return kept, ended


def last_key(page: Mapping[str, Any]) -> str | None:
    keys = [entries[-1]["Key"] for name in NAMES if (entries := page.get(name))]
    return max(keys) if keys else None


def page_size(page: Mapping[str, Any]) -> int:
    return sum(len(page.get(name, ())) for name in NAMES)


def boundaries(
    probe: Callable[[str], str | None],
    prefix: str,
    last: str,
    high: str | None,
    alphabet: str = "",
) -> list[str]:
    """Split points in (last, high]: the blocks `base + c` the keys after `last` fall in, one
    character deeper at a time until there are `MAX_RANGES` of them; the first block stays with
    the range being listed. Evenly thinned.

    With an `alphabet` (the characters the keys listed so far use), a level's probes all go at
    once: one after `base + c` for each of its characters, the next characters being those of
    the keys found. Without, each block walks its next characters one probe at a time.
    """
    blocks, budget = [prefix], PROBES
    with ThreadPoolExecutor(MAX_RANGES, thread_name_prefix="purge-probe") as pool:
        for _ in range(MAX_DEPTH):
            if alphabet:
                found, used = level_chars(pool, probe, blocks, last, high, alphabet, budget)
            else:
                share = max(1, budget // len(blocks))
                walk = partial(next_chars, probe, last=last, high=high, budget=share)
                walked = list(pool.map(walk, blocks))
                found, used = [c for c, _ in walked], sum(n for _, n in walked)
            deeper = [base + c for base, chars in zip(blocks, found, strict=True) for c in chars]
            budget -= used
            if not deeper:
                break
            blocks = deeper
            if len(blocks) >= MAX_RANGES or budget <= 0:
                break
    picks = blocks[1:]  # evenly chosen, at most MAX_RANGES - 1 of them
    count = min(len(picks), MAX_RANGES - 1)
    return [picks[i * len(picks) // count] for i in range(count)]


def level_chars(
    pool: ThreadPoolExecutor,
    probe: Callable[[str], str | None],
    blocks: list[str],
    last: str,
    high: str | None,
    alphabet: str,
    budget: int,
) -> tuple[list[list[str]], int]:
    """For each block, the next characters of the keys found by probing after `base` and after
    `base + c` for each `c` of the alphabet, all at once; and the probes used."""
    asks = [
        (index, after)
        for index, base in enumerate(blocks)
        for after in sorted({max(last, base), *(base + c for c in alphabet if base + c > last)})
    ][:budget]
    chars: list[set[str]] = [set() for _ in blocks]
    for (index, _), key in zip(asks, pool.map(probe, [a for _, a in asks]), strict=True):
        base = blocks[index]
        if key and key.startswith(base) and len(key) > len(base) and (high is None or key <= high):
            chars[index].add(key[len(base)])
    return [sorted(c) for c in chars], len(asks)


def next_chars(
    probe: Callable[[str], str | None], base: str, *, last: str, high: str | None, budget: int
) -> tuple[list[str], int]:
    """The characters after `base` of the keys after `last` (and up to `high`), one probe each;
    and how many probes that took."""
    chars: list[str] = []
    after, used = max(last, base), 0
    while used < budget:
        used += 1
        key = probe(after)
        if key is None or not key.startswith(base) or (high is not None and key > high):
            break
        if len(key) == len(base):  # the key `base` itself: nothing after it to split on
            after = key
            continue
        char = key[len(base)]
        chars.append(char)
        after = base + successor(char)
    return chars, used


def alphabet(chars: set[str]) -> str:
    """At most `ALPHABET` of the characters, evenly spread over their order."""
    ordered = sorted(chars)
    step = max(1, -(-len(ordered) // ALPHABET))
    return "".join(ordered[::step])


def successor(char: str) -> str:
    """The next character (skipping the surrogates, which UTF-8 cannot carry)."""
    code = ord(char) + 1
    return chr(0xE000 if 0xD800 <= code <= 0xDFFF else min(code, 0x10FFFF))
