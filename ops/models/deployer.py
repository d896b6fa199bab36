"""`[deployer]`: the event-driven deployer. A zip uploaded to `<prefix><stage>/<function>.zip`
in the deploy bucket makes the deployer in that bucket's region update the function's code,
publish a version and move the `<stage>` alias; replication carries the upload to every replica
region, where that region's deployer does the same.

One table per config: the primary `region` holds `bucket`; `replicas` maps each other region to
its bucket (live cross-region replication) or to a table `{ bucket, mode = "delayed", delay }`
(a scheduled copier in the replica region pulls uploads once they are `delay` old, so a bad
upload can be withdrawn before it reaches the DR region). `ops render` renders the primary's
stack, `ops render --region R` a replica's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ops.models.common import FunctionSettings, memory_setting, timeout_setting
from ops.schema import Duration, Loader, check_bucket, setting

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


MAX_DELAY = Duration(7 * 86400)  # well inside the 30 days the bucket keeps old versions
MIN_EVERY, MAX_EVERY, DEFAULT_EVERY = Duration(60), Duration(86400), Duration(300)


def check_replicas(value: dict[str, str | Replica]) -> str | None:
    for region, replica in value.items():
        bucket = replica if isinstance(replica, str) else replica.bucket
        problem = check_region(region) or check_bucket(bucket)
        if problem:
            return f"{region}: {problem}"
    return None


def check_delay(value: Duration) -> str | None:
    if not 60 <= value <= MAX_DELAY:
        return f"expected a delay from 1m to {MAX_DELAY}, got {value}"
    return None


def check_every(value: Duration) -> str | None:
    if not MIN_EVERY <= value <= MAX_EVERY or value % 60:
        return f"expected whole minutes from {MIN_EVERY} to {MAX_EVERY}, got {value}"
    return None


@dataclass(frozen=True, kw_only=True)
class Replica:
    """A replica region's bucket and how uploads reach it."""

    bucket: str = setting(check=check_bucket, doc="the replica region's deploy bucket")
    mode: Literal["live", "delayed"] = setting(
        "live", doc="live: S3 replication; delayed: copied once `delay` old"
    )
    delay: Duration | None = setting(
        None, check=check_delay, doc="delayed: how old an upload must be before it is copied"
    )
    every: Duration | None = setting(
        None, check=check_every, doc="delayed: how often the copier looks (default 5m)"
    )

    @property
    def delayed(self) -> bool:
        return self.mode == "delayed"

    @property
    def interval(self) -> Duration:
        return self.every or DEFAULT_EVERY


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
    replicas: dict[str, str | Replica] = setting(
        {}, check=check_replicas, doc="region -> replica bucket, or { bucket, mode, delay }"
    )
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
        return self.bucket if region == self.region else self.replica_buckets.get(region)

    @property
    def replica_settings(self) -> dict[str, Replica]:
        """Every replica as a `Replica` (a bare bucket name is a live one), by region."""
        return {
            region: Replica(bucket=r) if isinstance(r, str) else r
            for region, r in sorted(self.replicas.items())
        }

    @property
    def replica_buckets(self) -> dict[str, str]:
        return {region: r.bucket for region, r in self.replica_settings.items()}

    @property
    def live_replicas(self) -> dict[str, str]:
        """The replicas S3 replication feeds: region -> bucket."""
        return {g: r.bucket for g, r in self.replica_settings.items() if not r.delayed}

    def delayed_replica(self, region: str) -> Replica | None:
        replica = self.replica_settings.get(region)
        return replica if replica is not None and replica.delayed else None

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
    buckets = [deployer.bucket, *deployer.replica_buckets.values()]
    if len(set(buckets)) != len(buckets):
        loader.problem("deployer.replicas", "every region needs its own bucket")
    for region, replica in deployer.replica_settings.items():
        if replica.delayed and replica.delay is None:
            loader.problem(f"deployer.replicas.{region}.delay", "required when mode = 'delayed'")
        for key in ("delay", "every"):
            if not replica.delayed and getattr(replica, key) is not None:
                problem = "only mode = 'delayed' takes it"
                loader.problem(f"deployer.replicas.{region}.{key}", problem)
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
