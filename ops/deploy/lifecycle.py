"""Lifecycle purge jobs in their buckets: read each bucket's lifecycle configuration, merge the
stack's rules into it by rule id, write it back; never drop or change a rule the stack does not
own (its id does not start with `ops:<stack>:`).

S3 has one lifecycle configuration per bucket and `PutBucketLifecycleConfiguration` replaces all
of it, so every write is read-merge-write, and the write merges again against a fresh read (the
user may take a while at the question; another tool may have written meanwhile). A bucket with
no configuration answers `NoSuchLifecycleConfiguration`: that is an empty list of rules. A
bucket whose merged list is empty (`ops destroy` removed the stack's only rule) gets
`DeleteBucketLifecycle`, not an empty put (which S3 refuses). The bucket also needs EventBridge
notifications for the job's deletions to be counted (`templates.lifecycle`); that is switched on
the same way, keeping every topic, queue and function notification it already has.

`plan_buckets` only reads; `write` is the only code that changes a bucket. Calls pass
`ExpectedBucketOwner`, so a bucket of that name in another account is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ops.config import Config
from ops.errors import OpsError
from ops.models.lifecycle import days, is_lifecycle, owned_prefix, rule_id
from ops.models.purge import S3Purge

MAX_RULES = 1000  # S3's limit of rules per lifecycle configuration
NO_CONFIGURATION = "NoSuchLifecycleConfiguration"
NOTIFICATION_KEYS = (
    "TopicConfigurations",
    "QueueConfigurations",
    "LambdaFunctionConfigurations",
    "EventBridgeConfiguration",
)


@dataclass(frozen=True)
class RuleChange:
    action: str  # "add" | "modify" | "remove"
    rule_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "id": self.rule_id,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class BucketPlan:
    """What one bucket's lifecycle configuration and notifications would become."""

    bucket: str
    wanted: tuple[Mapping[str, Any], ...]  # the stack's rules for this bucket (none: remove)
    changes: tuple[RuleChange, ...] = ()
    kept: int = 0  # rules the stack does not own, left as they are
    enable_eventbridge: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.enable_eventbridge

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "changes": [c.to_dict() for c in self.changes],
            "foreign_rules_kept": self.kept,
            "enable_eventbridge": self.enable_eventbridge,
        }


def wanted_rules(config: Config) -> dict[str, list[dict[str, Any]]]:
    """bucket -> the lifecycle rules the config's lifecycle jobs want in it, in file order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for job in config.purge:
        if isinstance(job, S3Purge) and is_lifecycle(job):
            found.setdefault(job.bucket, []).append(lifecycle_rule(config.stack.name, job))
    return found


def lifecycle_rule(stack: str, job: Any) -> dict[str, Any]:
    """Current versions expire `older_than` after creation; in a versioned bucket, a version
    goes `older_than` after it stopped being current (S3 counts both in whole days)."""
    age = days(job)
    return {
        "ID": rule_id(stack, job.name),
        "Status": "Enabled",
        "Filter": {"Prefix": job.prefix},
        "Expiration": {"Days": age},
        "NoncurrentVersionExpiration": {"NoncurrentDays": age},
    }


def merge(
    current: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]], stack: str
) -> tuple[list[Mapping[str, Any]], list[RuleChange]]:
    """The bucket's rules with the stack's merged in: foreign rules as they were and where they
    were, the stack's rules replaced in place or added at the end, stale ones of the stack's
    removed. Pure: the planner and the writer both call it."""
    mine = owned_prefix(stack)
    by_id = {str(rule["ID"]): rule for rule in wanted}
    merged: list[Mapping[str, Any]] = []
    changes: list[RuleChange] = []
    for rule in current:
        rid = str(rule.get("ID", ""))
        if rid in by_id:
            new = by_id.pop(rid)
            if canonical(rule) != canonical(new):
                changes.append(RuleChange("modify", rid, rule, new))
            merged.append(new)
        elif rid.startswith(mine):
            changes.append(RuleChange("remove", rid, rule, None))
        else:
            merged.append(rule)
    for rid, new in by_id.items():
        changes.append(RuleChange("add", rid, None, new))
        merged.append(new)
    return merged, changes


def canonical(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as compared: what S3 may answer differently from what was put (an empty prefix
    filter, the deprecated top-level `Prefix`) written one way."""
    out = {k: v for k, v in rule.items() if k != "ID"}
    if "Prefix" in out and "Filter" not in out:
        out["Filter"] = {"Prefix": out.pop("Prefix")}
    if out.get("Filter") == {}:
        out["Filter"] = {"Prefix": ""}
    return out


@dataclass
class Buckets:
    """The S3 calls on the jobs' buckets, as `account` (the caller, from STS)."""

    s3: Any
    account: str
    stack: str
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # bucket -> extra put args

    def rules(self, bucket: str) -> list[Mapping[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            answer = self.s3.get_bucket_lifecycle_configuration(
                Bucket=bucket, ExpectedBucketOwner=self.account
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == NO_CONFIGURATION:
                return []
            raise OpsError(_cannot(bucket, "read the lifecycle configuration of", code)) from None
        size = answer.get("TransitionDefaultMinimumObjectSize")
        self.configs[bucket] = {"TransitionDefaultMinimumObjectSize": size} if size else {}
        return list(answer.get("Rules", []))

    def notifications(self, bucket: str) -> dict[str, Any]:
        answer = self.s3.get_bucket_notification_configuration(
            Bucket=bucket, ExpectedBucketOwner=self.account
        )
        return {k: answer[k] for k in NOTIFICATION_KEYS if k in answer}

    def plan(self, bucket: str, wanted: Sequence[Mapping[str, Any]]) -> BucketPlan:
        current = self.rules(bucket)
        merged, changes = merge(current, wanted, self.stack)
        if len(merged) > MAX_RULES:
            raise OpsError(
                f"bucket {bucket} would have {len(merged)} lifecycle rules; S3 allows "
                f"{MAX_RULES}: merge some of its rules or use mode = 'lambda'"
            )
        kept = len(merged) - len(wanted)
        enable = bool(wanted) and "EventBridgeConfiguration" not in self.notifications(bucket)
        return BucketPlan(bucket, tuple(wanted), tuple(changes), kept, enable)

    def write(self, plan: BucketPlan) -> None:
        """Merge again against a fresh read, then put (or delete an emptied configuration)."""
        if plan.changes:
            merged, _ = merge(self.rules(plan.bucket), plan.wanted, self.stack)
            owner = {"Bucket": plan.bucket, "ExpectedBucketOwner": self.account}
            if merged:
                self.s3.put_bucket_lifecycle_configuration(
                    **owner,
                    LifecycleConfiguration={"Rules": merged},
                    **self.configs.get(plan.bucket, {}),
                )
            else:
                self.s3.delete_bucket_lifecycle(**owner)
        if plan.enable_eventbridge:
            self._enable_eventbridge(plan.bucket)

    def _enable_eventbridge(self, bucket: str) -> None:
        current = self.notifications(bucket)
        if "EventBridgeConfiguration" in current:
            return
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket,
            ExpectedBucketOwner=self.account,
            NotificationConfiguration={**current, "EventBridgeConfiguration": {}},
            SkipDestinationValidation=True,  # the existing destinations are not ours to test
        )


def plan_buckets(buckets: Buckets, config: Config, *, removing: bool = False) -> list[BucketPlan]:
    """One plan per bucket a lifecycle job of the config names (with `removing`, the plan
    takes the stack's rules out of them: `ops destroy`)."""
    return [
        buckets.plan(bucket, () if removing else tuple(rules))
        for bucket, rules in wanted_rules(config).items()
    ]


def change_lines(plans: Sequence[BucketPlan]) -> list[str]:
    """The rule diff as `ops plan` and `ops apply` show it."""
    lines: list[str] = []
    for plan in plans:
        if not plan.changed:
            lines.append(f"Lifecycle rules of bucket {plan.bucket}: no changes")
            continue
        lines.append(f"Lifecycle rules of bucket {plan.bucket}:")
        lines += [f"  {_sign(c)} {c.action:<7} {c.rule_id}  {_describe(c)}" for c in plan.changes]
        if plan.enable_eventbridge:
            lines.append("  + EventBridge notifications on (to count what the rules delete)")
        lines.append(f"  {plan.kept} other rule(s) of the bucket kept as they are")
    return lines


def _sign(change: RuleChange) -> str:
    return {"add": "+", "modify": "~", "remove": "-"}[change.action]


def _describe(change: RuleChange) -> str:
    def text(rule: Mapping[str, Any] | None) -> str:
        if rule is None:
            return "-"
        where = canonical(rule).get("Filter", {}).get("Prefix", "?")
        age = rule.get("Expiration", {}).get("Days", "?")
        return f"prefix {where!r}, {age} days"

    if change.action == "modify":
        return f"{text(change.before)} -> {text(change.after)}"
    return text(change.after if change.action == "add" else change.before)


def _cannot(bucket: str, what: str, code: str) -> str:
    return (
        f"cannot {what} bucket {bucket} ({code}): a lifecycle job's bucket must exist and "
        "belong to the account deploying the stack"
    )
