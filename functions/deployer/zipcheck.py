"""Is an S3 object a zip Lambda will take? Read its central directory with ranged GETs only.

`zipfile` parses the end record and central directory through `RangedObject`, a seekable view
of one pinned object version that fetches the tail once (where both usually live) and any other
span on demand, so checking a 200 MB zip reads kilobytes. The uncompressed total comes from the
central directory, which is what Lambda's 250 MB limit applies to.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from functions.deployer.layout import Rejected

# Lambda's limit on a function's unzipped code (250 MB, as Lambda counts: 262,144,000 bytes).
MAX_UNZIPPED = 262_144_000
# Code from S3 is not held to the 50 MB direct-upload limit, but a zip larger than what it may
# unzip to cannot be valid; refuse it before reading anything.
MAX_ZIPPED = MAX_UNZIPPED
TAIL = 65_536 + 22  # the end-of-central-directory record with the longest comment

Fetch = Callable[[int, int], bytes]  # (first byte, last byte inclusive) -> bytes


class RangedObject(io.RawIOBase):
    """A read-only, seekable file over `fetch`, which returns one byte range of the object."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        super().__init__()
        self._fetch, self._size, self._pos = fetch, size, 0
        self._tail_start = max(0, size - TAIL)
        self._tail: bytes | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        end = min(self._size, self._pos + len(buffer))
        if end <= self._pos:
            return 0
        data = self._span(self._pos, end)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _span(self, start: int, end: int) -> bytes:
        if start >= self._tail_start:
            if self._tail is None:
                self._tail = self._fetch(self._tail_start, self._size - 1)
            return self._tail[start - self._tail_start : end - self._tail_start]
        return self._fetch(start, end - 1)


def check_zip(fetch: Fetch, size: int) -> int:
    """The uncompressed size of the zip; Rejected if it is no zip or too big for Lambda."""
    if size > MAX_ZIPPED:
        raise Rejected(f"the zip is {size:,} bytes; Lambda takes at most {MAX_ZIPPED:,}")
    try:
        with zipfile.ZipFile(RangedObject(fetch, size)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise Rejected(f"the object is not a valid zip: {exc}") from None
    if not any(not i.is_dir() for i in infos):
        raise Rejected("the zip holds no files")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise Rejected(f"the zip unpacks to {total:,} bytes; Lambda allows {MAX_UNZIPPED:,}")
    return total
