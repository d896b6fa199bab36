"""Terminal conventions every command follows: colour only on a terminal, and never when
`NO_COLOR` is set to anything (https://no-color.org)."""

from __future__ import annotations

import os
from typing import TextIO


def wants_colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")
