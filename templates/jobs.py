"""What a function is told at run time, from its model alone: `$OPS_JOB` (the job's settings
as sorted JSON) and, for a purge job, its handler and whether it has a function at all.

Nothing here imports troposphere or awacs: `ops invoke` computes a purge job's settings with
these functions without rendering a template, and the builders (`templates.function`,
`templates.purge`) render the same values with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from ops.models.deployer import Deployer, Replica
from ops.models.purge import PurgeJob, S3Purge

# Keys that configure the function or its trigger, not the job the function runs.
NOT_JOB_KEYS = ("memory", "timeout", "runtime", "schedule", "timezone", "kms_key")  # kms: IAM only
PURGE_HANDLER = "functions.purge.handler.handler"
OPS_JOB = "OPS_JOB"


def job_settings(item: Any, drop: Sequence[str] = NOT_JOB_KEYS) -> dict[str, Any]:
    """A model's keys as plain JSON data for $OPS_JOB, minus the function's and trigger's own."""
    return {k: v for k, v in asdict(item).items() if k not in drop}


def ops_job_value(job: Mapping[str, Any]) -> str:
    """$OPS_JOB's value: compact JSON with sorted keys, so a render is byte-identical."""
    return json.dumps(job, sort_keys=True, separators=(",", ":"))


def purge_job(job: PurgeJob) -> dict[str, Any]:
    """$OPS_JOB of a purge job; a cap written as 0 (no limit) reaches the function as none."""
    # `mode` is how the job is deployed, not a setting the function reads
    settings = job_settings(job, drop=(*NOT_JOB_KEYS, "mode"))
    for cap in ("max_deletes", "max_delete_percent"):
        if settings.get(cap) == 0:
            settings[cap] = None
    return settings


LOG_PROCESSOR_DROP = (  # the function's own, and what the subscription filter does
    "memory",
    "timeout",
    "runtime",
    "concurrency",
    "log_groups",
    "filter_pattern",
    "kms_key",
)


def log_processor_job(item: Any) -> dict[str, Any]:
    """$OPS_JOB of a log processor that runs a function; a processor with prefixes lists its
    groups too: its account policy sends every group, and the function keeps these only."""
    job = job_settings(item, drop=LOG_PROCESSOR_DROP)
    if item.prefixes:
        job["log_groups"] = list(item.log_groups)
    return job


def responder_job(item: Any, alarm_name: str) -> dict[str, Any]:
    """$OPS_JOB of a responder: its keys, and the name of the alarm it defines (or "")."""
    return {**job_settings(item), "alarm_name": alarm_name}


def deployer_job(deployer: Deployer, functions: Sequence[str], own: str) -> dict[str, Any]:
    """$OPS_JOB of the deployer: the functions it may deploy, its own name, every region's
    bucket (a copy runs in each), and the smoke test."""
    return {
        "prefix": deployer.prefix,
        "stages": list(deployer.stages),
        "functions": list(functions),
        "own_function": own,
        "buckets": {deployer.region: deployer.bucket, **deployer.replica_buckets},
        "report_prefix": deployer.report_prefix,
        "smoke_test": deployer.smoke_test,
        "smoke_event": deployer.smoke_event,
    }


def copier_job(deployer: Deployer, replica: Replica) -> dict[str, Any]:
    """$OPS_JOB of a delayed replica's copier: where from, where to, and how far behind."""
    assert replica.delay is not None  # check_deployer refuses a delayed replica without one
    return {
        "source_bucket": deployer.bucket,
        "source_region": deployer.region,
        "bucket": replica.bucket,
        "prefix": deployer.prefix,
        "delay": int(replica.delay),
    }


def purge_has_function(job: PurgeJob) -> bool:
    """False for an S3 job in mode = "lifecycle": S3 deletes for it, a rule only counts."""
    return not (isinstance(job, S3Purge) and job.mode == "lifecycle")
