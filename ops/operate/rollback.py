"""`ops rollback`: move a stage alias back to the version the deployer recorded as previous.

The deployer writes its record into the alias description when it moves an alias
(`ops-deployer version=7 previous=6 sequencer=... sha256=... s3-version=...`,
functions/deployer/layout.py::AliasRecord; read here again because ops does not import function
code). The record is trusted only while `version=` is the alias's target (an alias moved by hand
no longer matches). Every region is planned first (GetAlias, GetFunction of the target version)
and nothing moves unless every region can: a stage is never left half rolled back because one
region refused. The move is UpdateAlias with the alias's RevisionId (a concurrent deploy wins
and the rollback fails rather than overwriting it), and writes a record that says it was rolled
back from the old version. It keeps the rolled-back upload's sequencer, so a late or repeated
delivery of that upload is a duplicate to the deployer, not a redeploy; a new upload deploys as
usual. Run again, it finds that record and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ops.errors import OpsError

MARK = "ops-deployer"  # the first word of the deployer's alias record
ROLLED_BACK = "rolled-back-from"
MAX_DESCRIPTION = 256  # Lambda's limit on an alias description


@dataclass(frozen=True)
class Step:
    """What one region needs: move `alias` from `current` to `target`, or nothing (`done`)."""

    region: str
    function: str
    alias: str
    current: str
    target: str
    revision: str = ""
    description: str = ""  # the record to write
    done: bool = False  # already rolled back to `target`

    def line(self) -> str:
        what = f"{self.function}:{self.alias} in {self.region}"
        if self.done:
            return f"{what}: already rolled back to version {self.target} (from {self.current})"
        return f"{what}: version {self.current} -> {self.target}"


class RollbackRefused(OpsError):
    """A region cannot be rolled back; nothing was changed anywhere."""


def parse_record(description: str | None) -> dict[str, str]:
    words = (description or "").split()
    if not words or words[0] != MARK:
        return {}
    return dict(w.partition("=")[::2] for w in words[1:] if "=" in w)


def plan_region(lam: Any, region: str, function: str, alias: str) -> Step:
    """Read the alias and the version to go back to; RollbackRefused saying why if it cannot."""
    where = f"{function}:{alias} in {region}"
    found = _get(lam.get_alias, FunctionName=function, Name=alias)
    if found is None:
        raise RollbackRefused(f"{where}: no such alias (the stage was never deployed there)")
    current = str(found["FunctionVersion"])
    record = parse_record(found.get("Description"))
    if record.get("version") != current:
        raise RollbackRefused(
            f"{where}: no rollback record for version {current} (the alias was not moved by "
            "the deployer, or moved by hand since): move it with aws lambda update-alias"
        )
    if record.get(ROLLED_BACK):
        return Step(region, function, alias, record[ROLLED_BACK], current, done=True)
    previous = record.get("previous", "")
    if not previous:
        raise RollbackRefused(
            f"{where}: the deployer recorded no previous version (version {current} was the "
            "stage's first deploy): there is nothing to roll back to"
        )
    target = _get(lam.get_function, FunctionName=function, Qualifier=previous)
    if target is None:
        raise RollbackRefused(f"{where}: previous version {previous} no longer exists")
    sha = str(target["Configuration"].get("CodeSha256", ""))
    return Step(
        region,
        function,
        alias,
        current,
        previous,
        revision=str(found.get("RevisionId", "")),
        description=_record(previous, sha, current, record),
    )


def _record(version: str, sha: str, rolled_from: str, old: dict[str, str]) -> str:
    """The deployer's record for `version`, saying where it was rolled back from; the upload's
    sequencer stays so its redelivery is a duplicate. The S3 version id goes first if too long."""
    fields = [
        ("version", version),
        ("sequencer", old.get("sequencer", "")),
        ("sha256", sha),
        (ROLLED_BACK, rolled_from),
        ("s3-version", old.get("s3-version", "")),
    ]
    text = " ".join([MARK, *(f"{k}={v}" for k, v in fields if v)])
    return text if len(text) <= MAX_DESCRIPTION else text[: text.rfind(" s3-version=")]


def _get(call: Callable[..., Any], **args: Any) -> Any:
    from botocore.exceptions import ClientError

    try:
        return call(**args)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def plan(
    clients: Callable[[str], Any], regions: Sequence[str], function: str, alias: str
) -> list[Step]:
    """Every region's step; RollbackRefused (before any change) if one region cannot."""
    return [plan_region(clients(region), region, function, alias) for region in regions]


def execute(clients: Callable[[str], Any], steps: Sequence[Step]) -> None:
    for step in steps:
        if step.done:
            continue
        guard = {"RevisionId": step.revision} if step.revision else {}
        clients(step.region).update_alias(
            FunctionName=step.function,
            Name=step.alias,
            FunctionVersion=step.target,
            Description=step.description,
            RoutingConfig={"AdditionalVersionWeights": {}},  # all of the stage on the target
            **guard,
        )
