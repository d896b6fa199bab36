"""`[deployer]`: the event-driven deployer. A zip uploaded to `<prefix><stage>/<function>.zip`
in the deploy bucket makes the deployer in that bucket's region update the function's code,
publish a version and move the `<stage>` alias; replication carries the upload to every replica
region, where that region's deployer does the same.

One table per config: the primary `region` holds `bucket`; `replicas` maps each other region to
its bucket. `ops render` renders the primary's stack, `ops render --region R` a replica's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ops.models.common import FunctionSettings, memory_setting, timeout_setting
from ops.schema import Loader, check_bucket, setting

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
_STAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")  # Lambda alias names (not all-digits)
_FUNCTION_GLOB = re.compile(r"^[A-Za-z0-9_*?-]{1,64}$")
_WRITER = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[A-Za-z0-9+=,.@_/*-]+$")


def check_region(value: str) -> str | None:
    return None if _REGION.match(value) else f"expected a region like eu-west-1, got {value!r}"


def check_deploy_prefix(value: str) -> str | None:
    if not value.endswith("/") or value.startswith("/") or "*" in value:
        return f"expected a key prefix ending in '/', like 'deploy/', got {value!r}"
    return None


def check_stages(value: tuple[str, ...]) -> str | None:
    bad = [s for s in value if not _STAGE.match(s)]
    if bad or not value:
        return f"expected one or more alias names (a letter, then letters, digits, - or _): {bad}"
    return None if len(set(value)) == len(value) else "stages repeat"


def check_function_globs(value: tuple[str, ...]) -> str | None:
    bad = [f for f in value if not _FUNCTION_GLOB.match(f) or f.strip("*?") == ""]
    if bad:
        return f"expected function names or globs like 'worker-*' (not a bare '*'), got {bad}"
    return None


def check_writers(value: tuple[str, ...]) -> str | None:
    bad = [w for w in value if not _WRITER.match(w)]
    if bad or not value:
        return f"expected one or more IAM role or user ARNs, got {bad or 'none'}"
    return None


def check_replicas(value: dict[str, str]) -> str | None:
    for region, bucket in value.items():
        problem = check_region(region) or check_bucket(bucket)
        if problem:
            return f"{region}: {problem}"
    return None


@dataclass(frozen=True, kw_only=True)
class Deployer(FunctionSettings):
    """The deploy bucket, who may write to it, what the deployer may update, and where."""

    region: str = setting(check=check_region, doc="primary region: holds `bucket`")
    bucket: str = setting(check=check_bucket, doc="deploy bucket in the primary region")
    prefix: str = setting("deploy/", check=check_deploy_prefix, doc="uploads go under it")
    stages: tuple[str, ...] = setting(check=check_stages, doc="allowed stages = alias names")
    functions: tuple[str, ...] = setting(
        check=check_function_globs, doc="function names (globs) the deployer may update"
    )
    writers: tuple[str, ...] = setting(
        check=check_writers, doc="principal ARNs allowed to upload under `prefix`"
    )
    replicas: dict[str, str] = setting({}, check=check_replicas, doc="region -> replica bucket")
    smoke_test: bool = setting(False, doc="invoke the new version before moving the alias")
    smoke_event: dict[str, Any] = setting({}, doc="the event the smoke test sends")
    self_stage: str | None = setting(
        None, doc="the deployer's own alias that uploads invoke (default: the last stage)"
    )
    report_prefix: str = setting(
        "deploy-reports/", check=check_deploy_prefix, doc="where each region's reports go"
    )
    memory: int = memory_setting(512)  # hashing and zip checks stream; this is for speed
    timeout: int = timeout_setting(300)

    @property
    def name(self) -> str:
        """One deployer per config; its function is `<stack>-deployer-deployer`."""
        return "deployer"

    @property
    def own_stage(self) -> str:
        return self.self_stage or self.stages[-1]

    def bucket_in(self, region: str) -> str | None:
        """The deploy bucket of `region`, None where the config deploys nothing."""
        return self.bucket if region == self.region else self.replicas.get(region)

    def object_key(self, stage: str, function: str) -> str:
        return f"{self.prefix}{stage}/{function}.zip"

    def report_key(self, stage: str, function: str, version_id: str) -> str:
        return f"{self.report_prefix}{stage}/{function}/{version_id}.json"


def replica_regions(config: Any) -> list[str]:
    """The regions whose stacks `ops apply` must bring up before the primary's (sorted).

    A replication rule can only name a bucket that exists and is versioned, so replicas first.
    """
    deployer = getattr(config, "deployer", None)
    return sorted(deployer.replicas) if deployer else []


def deploy_regions(config: Any) -> list[str]:
    """Every region with a deploy bucket: the primary, then the replicas."""
    deployer = getattr(config, "deployer", None)
    return [deployer.region, *sorted(deployer.replicas)] if deployer else []


def check_deployer(config: Any, loader: Loader) -> None:
    """Checks across keys: regions, buckets, prefixes and the deployer's own stage."""
    deployer = getattr(config, "deployer", None)
    if deployer is None:
        return
    if deployer.region in deployer.replicas:
        loader.problem("deployer.replicas", f"{deployer.region!r} is the primary region")
    buckets = [deployer.bucket, *deployer.replicas.values()]
    if len(set(buckets)) != len(buckets):
        loader.problem("deployer.replicas", "every region needs its own bucket")
    if deployer.report_prefix.startswith(deployer.prefix) or deployer.prefix.startswith(
        deployer.report_prefix
    ):
        loader.problem("deployer.report_prefix", "must not overlap `prefix` (reports are no code)")
    if deployer.self_stage is not None and deployer.self_stage not in deployer.stages:
        loader.problem("deployer.self_stage", f"expected one of {list(deployer.stages)}")


def renders_in(config: Any, section_key: str, region: str | None) -> bool:
    """Whether a section's items belong in the stack of `region`.

    A replica region's stack holds the deployer alone; everything else renders where the
    primary stack goes (no region asked for, or any region the deployer does not replicate to).
    """
    deployer = getattr(config, "deployer", None)
    if deployer is None or region is None or region not in deployer.replicas:
        return True
    return section_key == "deployer"
