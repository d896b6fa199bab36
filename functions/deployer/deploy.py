"""Per record: check the upload, skip what is already deployed or stale, else update the code,
publish a version and move the stage alias. Pure apart from the injected `DeployApi`.

Order of the checks is the order of their cost: a duplicate event is settled by one `GetAlias`
(the alias description records the upload it runs), a re-upload of the running code by a
`HeadObject` more; only new code pays for the zip check and the writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from functions.deployer.api import DeployApi, error_code
from functions.deployer.layout import (
    AliasRecord,
    Rejected,
    Target,
    Upload,
    allowed,
    newer,
    parse_key,
    s3_records,
)
from functions.deployer.report import DeployReport, Outcome
from functions.deployer.zipcheck import check_zip
from functions.runtime import log
from functions.runtime.budget import TimeBudget
from functions.runtime.view import parse

DUPLICATE = "duplicate event: the alias already runs this upload"
SAME_CODE = "the alias already runs this code"
_SHA = re.compile(r"^[A-Za-z0-9+/]{43}=$")  # base64 of a SHA-256 digest
WAIT_CAP = 300.0  # seconds to wait for a code update, within the budget


class Failed(Exception):
    """A deploy that went wrong and may go right on a retry (the handler then raises)."""


@dataclass(frozen=True)
class Settings:
    """The deployer's job ($OPS_JOB, templates/jobs.py::deployer_job) and the region it runs in."""

    region: str
    prefix: str
    stages: tuple[str, ...]
    functions: tuple[str, ...]
    own_function: str
    buckets: Mapping[str, str]
    report_prefix: str
    smoke_test: bool = False
    smoke_event: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_job(cls, job: Mapping[str, Any], region: str) -> Settings:
        """The job's keys, checked, and `region` (`$AWS_REGION`: where this copy runs)."""
        return parse(cls, {**job, "region": region})

    @property
    def bucket(self) -> str | None:
        return self.buckets.get(self.region)


@dataclass(frozen=True)
class AliasState:
    """The stage alias as found; `record` only when its description still describes it."""

    version: str
    revision: str
    record: AliasRecord | None


def deploy_event(
    event: Any, settings: Settings, api: DeployApi, budget: TimeBudget
) -> DeployReport:
    """Every record of the event; ValueError (nothing done) if it is no S3 notification."""
    records = s3_records(event)
    report = DeployReport(settings.region)
    for record in records:
        if budget.expired():
            outcome = Outcome("failed", reason="out of time before this record; a retry redoes it")
        else:
            outcome = deploy_record(record, settings, api, budget)
        _log(outcome)
        report.outcomes.append(outcome)
        _store_report(api, settings, outcome)
    report.api_calls = api.calls
    return report


def deploy_record(record: Any, settings: Settings, api: DeployApi, budget: TimeBudget) -> Outcome:
    """One record, whatever happens to it: never raises for AWS errors or bad input."""
    outcome = Outcome("failed", region=settings.region)
    try:
        upload = Upload.from_record(record)
        outcome.key, outcome.version_id = upload.key, upload.version_id
        target = check_target(upload, settings)
        outcome.function, outcome.stage = target.function, target.stage
        return deploy(upload, target, settings, api, budget, outcome)
    except Rejected as exc:
        outcome.status, outcome.reason = "rejected", str(exc)
    except Failed as exc:
        outcome.reason = str(exc)
    except Exception as exc:
        if not type(exc).__module__.startswith("botocore"):
            raise  # our own bug: let it surface with its traceback
        outcome.reason = f"{error_code(exc)}: {exc}"
    return outcome


def check_target(upload: Upload, settings: Settings) -> Target:
    """Where the upload may go; Rejected for anything the config does not allow."""
    if upload.bucket != settings.bucket:
        raise Rejected(f"bucket {upload.bucket!r} is not the deploy bucket of {settings.region}")
    target = parse_key(upload.key, settings.prefix)
    if target.stage not in settings.stages:
        raise Rejected(f"unknown stage {target.stage!r} (stages: {', '.join(settings.stages)})")
    ours = target.function == settings.own_function
    if not ours and not allowed(target.function, settings.functions):
        raise Rejected(f"function {target.function!r} is not on the deployer's allow-list")
    return target


def deploy(
    upload: Upload,
    target: Target,
    settings: Settings,
    api: DeployApi,
    budget: TimeBudget,
    outcome: Outcome,
) -> Outcome:
    alias = read_alias(api, target, settings.region)
    outcome.old_version = alias.version if alias else ""
    why = stale(upload, alias)
    if why:
        return _done(outcome, "skipped", why)
    head = api.head_object(upload.bucket, upload.key, upload.version_id)
    sha = code_sha256(head) or api.sha256_of(upload.bucket, upload.key, upload.version_id)
    outcome.code_sha256 = sha
    if alias and alias.version != "$LATEST" and running_sha(api, target, alias) == sha:
        remember_upload(api, target, alias, upload, sha)
        return _done(outcome, "skipped", SAME_CODE)
    fetch = partial(api.get_range, upload.bucket, upload.key, upload.version_id)
    check_zip(fetch, int(head["ContentLength"]))
    outcome.new_version = publish(api, target, upload, sha, budget)
    if settings.smoke_test and target.function != settings.own_function:
        smoke_test(api, target, outcome.new_version, settings.smoke_event)
    move_alias(api, target, alias, outcome.new_version, upload, sha)
    return _done(outcome, "deployed", "")


def read_alias(api: DeployApi, target: Target, region: str) -> AliasState | None:
    """The stage alias, None if the stage has none yet; Rejected if the function is missing."""
    try:
        found = api.get_alias(target.function, target.stage)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        _require_function(api, target, region)
        return None
    version = str(found["FunctionVersion"])
    record = AliasRecord.parse(found.get("Description"))
    trusted = record if record and record.version == version else None
    return AliasState(version, str(found.get("RevisionId", "")), trusted)


def _require_function(api: DeployApi, target: Target, region: str) -> None:
    try:
        api.get_function(target.function)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise Rejected(f"function {target.function!r} does not exist in {region}") from None
        raise


def stale(upload: Upload, alias: AliasState | None) -> str | None:
    """Why the event is not worth acting on: a duplicate, or older than what the alias runs."""
    record = alias.record if alias else None
    if not record or not record.sequencer or not upload.sequencer:
        return None
    try:
        order = newer(upload.sequencer, record.sequencer)
    except ValueError:
        return None  # not hex: cannot order it, so deploy rather than drop it
    if order == 0:
        return DUPLICATE
    if order < 0:
        return (
            f"older upload (sequencer {upload.sequencer}) than the one the alias runs "
            f"(sequencer {record.sequencer}, version {record.version})"
        )
    return None


def code_sha256(head: Mapping[str, Any]) -> str | None:
    """Lambda's CodeSha256 of the object without reading it, where the upload carries it.

    S3's SHA-256 checksum of a single-part upload is base64(sha256(bytes)), which is exactly
    Lambda's CodeSha256; a multipart upload's composite checksum ("...-N") is not. `ops push`
    also sets `codesha256` metadata, which survives copies that drop checksums.
    """
    checksum = str(head.get("ChecksumSHA256") or "")
    if _SHA.match(checksum) and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        return checksum
    meta = str((head.get("Metadata") or {}).get("codesha256", ""))
    return meta if _SHA.match(meta) else None


def running_sha(api: DeployApi, target: Target, alias: AliasState) -> str:
    if alias.record and alias.record.code_sha256:
        return alias.record.code_sha256
    return str(api.get_function(target.function, alias.version).get("CodeSha256", ""))


def remember_upload(
    api: DeployApi, target: Target, alias: AliasState, upload: Upload, sha: str
) -> None:
    """A newer upload of the running code becomes the alias's record, so that an older upload
    of other code, delivered late, is recognised as older and ignored."""
    if not alias.record or not upload.sequencer or stale(upload, alias) is not None:
        return
    record = AliasRecord(
        alias.version, alias.record.previous, upload.sequencer, sha, upload.version_id
    )
    api.update_alias(
        target.function, target.stage, alias.version, alias.revision, record.describe()
    )


def publish(api: DeployApi, target: Target, upload: Upload, sha: str, budget: TimeBudget) -> str:
    """UpdateFunctionCode from the pinned object version, wait, publish exactly that code."""
    api.update_code(target.function, upload.bucket, upload.key, upload.version_id)
    config = api.wait_updated(target.function, max(1.0, min(WAIT_CAP, budget.left())))
    if config.get("CodeSha256") != sha:
        raise Failed(
            f"Lambda computed CodeSha256 {config.get('CodeSha256')} for the upload, expected "
            f"{sha}: the checksum or codesha256 metadata does not match the object"
        )
    text = f"{upload.key} s3-version {upload.version_id}"[:256]
    return api.publish(target.function, sha, config.get("RevisionId"), text)


def smoke_test(api: DeployApi, target: Target, version: str, event: Mapping[str, Any]) -> None:
    result = api.invoke(target.function, version, dict(event))
    if result["FunctionError"]:
        excerpt = result["Payload"][:300]
        raise Failed(
            f"smoke test of version {version} failed ({result['FunctionError']}): {excerpt}; "
            "the alias was left where it was"
        )


def move_alias(
    api: DeployApi,
    target: Target,
    alias: AliasState | None,
    version: str,
    upload: Upload,
    sha: str,
) -> None:
    """Point the stage at `version`, recording where it was, so a rollback is exact."""
    previous = alias.version if alias else ""
    record = AliasRecord(version, previous, upload.sequencer, sha, upload.version_id)
    if alias is None:
        api.create_alias(target.function, target.stage, version, record.describe())
    else:
        api.update_alias(target.function, target.stage, version, alias.revision, record.describe())


def _done(outcome: Outcome, status: Any, reason: str) -> Outcome:
    outcome.status, outcome.reason = status, reason
    return outcome


def _log(outcome: Outcome) -> None:
    level = {"deployed": log.info, "skipped": log.info}.get(outcome.status, log.error)
    level(outcome.line(), record=outcome.as_dict())


def _store_report(api: DeployApi, settings: Settings, outcome: Outcome) -> None:
    """The outcome where `ops push --wait` looks for it; a duplicate's is already there."""
    bucket = settings.bucket
    if not (bucket and outcome.function and outcome.stage and outcome.version_id):
        return
    if outcome.reason == DUPLICATE:
        return
    key = f"{settings.report_prefix}{outcome.stage}/{outcome.function}/{outcome.version_id}.json"
    try:
        api.put_report(bucket, key, outcome.as_dict())
    except Exception as exc:  # the deploy itself is done; a missing report only slows --wait
        if not type(exc).__module__.startswith("botocore"):
            raise
        log.warning("could not store the report", key=key, error=error_code(exc))
