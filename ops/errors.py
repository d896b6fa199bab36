"""One error base for everything `ops` reports to a user, and the exit codes the CLI documents."""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes, documented in the README. 1 is click's/`OpsError`'s generic failure.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # usage or config error (click uses 2 for usage errors too)
EXIT_TIMEOUT = 3  # the operation is still running in AWS when we stopped watching


class OpsError(Exception):
    """An error with a message that says what failed and what to do next."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(OpsError):
    """A command line, parameters file or region the config cannot serve (exit 2)."""

    exit_code = EXIT_USAGE


class TimedOut(OpsError):
    """We stopped waiting while AWS is still working: not a failure (exit 3)."""

    exit_code = EXIT_TIMEOUT


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file: where (a key path like `purge[0].schedule`) and what."""

    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


class ConfigError(OpsError):
    """A config file that cannot be used; carries one `Problem` per thing wrong."""

    exit_code = EXIT_USAGE

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT (128 + 2)


class Interrupted(OpsError):
    """Ctrl-C while AWS may still be working: the message says what state things were left in."""

    exit_code = EXIT_INTERRUPTED
