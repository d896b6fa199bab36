"""`[[function]]`: a user's own Lambda function, built from a code folder and deployed like the
housekeeping families (own log group, least-privilege role, dead-letter queue, Errors alarm).

Configuration reaches the function at run time, never through the zip or the environment:
`parameters` (SSM Parameter Store names, or paths ending in `/`) and `secrets` (Secrets Manager
names or ARNs) are what its role may read. Triggers: `schedule`, `s3`, `sqs`, `sns`.

Checks that need the file system (the code folder, the handler's module, the requirements file)
and the config as a whole (S3 notifications that would overlap) are in `cross_check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ops.models.common import FunctionSettings, check_kms_arn, memory_setting, timeout_setting
from ops.naming import function_name
from ops.schedule import check_schedule, check_timezone
from ops.schema import Loader, check_bucket, check_name, check_range, setting

FAMILY = "fn"  # in function names and logical ids: <stack>-fn-<name>, Fn<Name>...
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
_PARAMETER = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,2048}$")
_SECRET = re.compile(r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[\w/+=.@-]+$")
_STAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")
_SQS_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Variables Lambda sets itself; a function may not set them (CreateFunction refuses).
_RESERVED_ENV = ("_HANDLER", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME")
# Values that are credentials whatever the key is called: a config error.
CREDENTIAL_VALUES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
)
# Key names that usually hold a secret: a warning from `ops validate` (a URL can be a "token_url").
SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "private_key")


def check_handler(value: str) -> str | None:
    if not _HANDLER.match(value):
        return f"expected module.function (like 'app.handler' or 'pkg.app.handler'), got {value!r}"
    return None


def check_actions(value: tuple[str, ...]) -> str | None:
    if not value:
        return "expected one or more actions like 's3:GetObject'"
    for action in value:
        if action == "*" or action.endswith(":*"):
            return f"{action!r} grants every action: name the actions the function calls"
        if not _ACTION.match(action):
            return f"expected service:Action like 's3:GetObject', got {action!r}"
    return None


def check_resources(value: tuple[str, ...]) -> str | None:
    bad = [r for r in value if r != "*" and not r.startswith("arn:")]
    if not value or bad:
        return f"expected one or more ARNs (or '*' for an API without resources), got {bad or []}"
    return None


def check_parameters(value: tuple[str, ...]) -> str | None:
    bad = [p for p in value if not _PARAMETER.match(p) or p == "/" or "//" in p]
    if bad:
        return f"expected SSM parameter names like '/app/table' or paths like '/app/', got {bad}"
    return None


def check_secrets(value: tuple[str, ...]) -> str | None:
    bad = [s for s in value if not _SECRET.match(s) or "*" in s]
    return f"expected Secrets Manager names or ARNs (no wildcards), got {bad}" if bad else None


def check_stages(value: tuple[str, ...]) -> str | None:
    bad = [s for s in value if not _STAGE.match(s)]
    if bad:
        return f"expected alias names (a letter, then letters, digits, - or _), got {bad}"
    return None if len(set(value)) == len(value) else "stages repeat"


def check_key_part(value: str) -> str | None:
    if value.startswith("/") or "*" in value:
        return f"expected a literal key prefix or suffix (no leading '/', no '*'), got {value!r}"
    return None


def check_environment(value: dict[str, str]) -> str | None:
    for name, text in value.items():
        if not _ENV_NAME.match(name) or name in _RESERVED_ENV:
            return f"{name!r}: expected a variable name that Lambda does not reserve"
        for pattern, what in CREDENTIAL_VALUES:
            if pattern.search(text):
                return (
                    f"{name!r} holds {what}: put it in Secrets Manager and list its name "
                    "under `secrets` (the environment is readable by anyone who can read the "
                    "function's configuration)"
                )
    return None


@dataclass(frozen=True, kw_only=True)
class Permission:
    """An extra identity-policy statement: allow `actions` on `resources`."""

    actions: tuple[str, ...] = setting(check=check_actions, doc="service:Action names")
    resources: tuple[str, ...] = setting(check=check_resources, doc="ARNs the actions act on")


@dataclass(frozen=True, kw_only=True)
class S3Trigger:
    """Objects created in `bucket` under `prefix` and ending in `suffix` invoke the function."""

    bucket: str = setting(check=check_bucket, doc="the bucket whose uploads invoke the function")
    prefix: str = setting("", check=check_key_part, doc="only keys starting with this")
    suffix: str = setting("", check=check_key_part, doc="only keys ending with this")
    create: bool = setting(
        False,
        doc="the stack creates the bucket and a notification; else EventBridge Object Created",
    )


@dataclass(frozen=True, kw_only=True)
class SqsTrigger:
    """An SQS queue whose messages invoke the function in batches (partial batch responses)."""

    queue_arn: str = setting(check=lambda v: _arn_check(_SQS_ARN, v, "SQS queue"), doc="queue")
    batch_size: int = setting(10, check=check_range(1, 10000), doc="messages per invocation")
    max_batching_window: int = setting(
        0, check=check_range(0, 300), doc="seconds to gather a batch"
    )

    @property
    def fifo(self) -> bool:
        return self.queue_arn.endswith(".fifo")


@dataclass(frozen=True, kw_only=True)
class SnsTrigger:
    """An SNS topic whose messages invoke the function."""

    topic_arn: str = setting(check=lambda v: _arn_check(_SNS_ARN, v, "SNS topic"), doc="topic")


def _arn_check(pattern: re.Pattern[str], value: str, what: str) -> str | None:
    return None if pattern.match(value) else f"expected an {what} ARN, got {value!r}"


@dataclass(frozen=True, kw_only=True)
class UserFunction(FunctionSettings):
    """`[[function]]`: one of the user's own functions."""

    name: str = setting(check=check_name, doc="unique among functions")
    code: str = setting(doc="the code folder, relative to the config file")
    handler: str = setting(check=check_handler, doc="module.function in the code folder")
    architecture: Literal["x86_64", "arm64"] = setting("arm64", doc="x86_64 or arm64")
    requirements: str | None = setting(
        None, doc="a requirements file (relative to the config file), installed for Lambda"
    )
    description: str = setting("", doc="the function's description")
    environment: dict[str, str] = setting(
        {}, check=check_environment, doc="plain, non-secret variables"
    )
    parameters: tuple[str, ...] = setting(
        (), check=check_parameters, doc="SSM parameter names, or paths ending in '/', it may read"
    )
    parameters_key: str | None = setting(
        None, check=check_kms_arn, doc="the customer KMS key of its SecureString parameters"
    )
    secrets: tuple[str, ...] = setting((), check=check_secrets, doc="secrets it may read")
    secrets_key: str | None = setting(
        None, check=check_kms_arn, doc="the customer KMS key of its secrets"
    )
    permissions: tuple[Permission, ...] = setting((), doc="extra { actions, resources }")
    stages: tuple[str, ...] = setting(
        (), check=check_stages, doc="aliases the deployer may move; triggers use the last"
    )
    reserved_concurrency: int | None = setting(
        None, check=check_range(1, 1000), doc="at most this many concurrent runs"
    )
    retries: int = setting(2, check=check_range(0, 2), doc="asynchronous retries")
    schedule: str | None = setting(None, check=check_schedule, doc="rate(...) or cron(...)")
    timezone: str | None = setting(None, check=check_timezone, doc="the schedule's time zone")
    s3: S3Trigger | None = setting(None, doc="{ bucket, prefix, suffix, create }")
    sqs: SqsTrigger | None = setting(None, doc="{ queue_arn, batch_size, max_batching_window }")
    sns: SnsTrigger | None = setting(None, doc="{ topic_arn }")
    memory: int = memory_setting(256)
    timeout: int = timeout_setting(60)

    @property
    def live_stage(self) -> str | None:
        """The alias triggers invoke: the last stage (None: they invoke the function)."""
        return self.stages[-1] if self.stages else None


def code_folder(config: Any, fn: UserFunction) -> Path:
    return (Path(config.source).parent / fn.code).resolve()


def requirements_file(config: Any, fn: UserFunction) -> Path | None:
    return (Path(config.source).parent / fn.requirements).resolve() if fn.requirements else None


def cross_check(config: Any, loader: Loader) -> None:
    """Code folder, handler module, requirements file, trigger keys and S3 overlaps."""
    functions = getattr(config, "function", ())
    for index, fn in enumerate(functions):
        _check_files(config, fn, loader, f"function[{index}]")
        _check_triggers(fn, loader, f"function[{index}]")
    _check_overlaps(functions, loader)
    _check_stages(config, functions, loader)


def _check_files(config: Any, fn: UserFunction, loader: Loader, path: str) -> None:
    folder = code_folder(config, fn)
    if not folder.is_dir():
        loader.problem(f"{path}.code", f"no such folder {folder} (relative to the config file)")
        return
    module = fn.handler.rpartition(".")[0].replace(".", "/")
    if not (folder / f"{module}.py").is_file() and not (folder / module / "__init__.py").is_file():
        loader.problem(f"{path}.handler", f"no module {module}.py in the code folder {folder}")
    requirements = requirements_file(config, fn)
    if requirements is not None and not requirements.is_file():
        loader.problem(f"{path}.requirements", f"no such file {requirements}")


def _check_triggers(fn: UserFunction, loader: Loader, path: str) -> None:
    if fn.timezone and not fn.schedule:
        loader.problem(f"{path}.timezone", "only a function with a `schedule` takes it")
    if fn.sqs is not None:
        if fn.sqs.fifo and fn.sqs.batch_size > 10:
            loader.problem(f"{path}.sqs.batch_size", "a FIFO queue takes at most 10")
        if fn.sqs.batch_size > 10 and fn.sqs.max_batching_window < 1:
            problem = "a batch_size over 10 needs max_batching_window of at least 1 (Lambda)"
            loader.problem(f"{path}.sqs.max_batching_window", problem)


def _check_overlaps(functions: tuple[UserFunction, ...], loader: Loader) -> None:
    """S3 refuses two notifications for one event whose prefixes and suffixes overlap."""
    created = {fn.s3.bucket for fn in functions if fn.s3 and fn.s3.create}
    seen: list[tuple[int, S3Trigger]] = []
    for index, fn in enumerate(functions):
        if fn.s3 is None or fn.s3.bucket not in created:
            continue
        for other, trigger in seen:
            if trigger.bucket == fn.s3.bucket and _overlap(trigger, fn.s3):
                loader.problem(
                    f"function[{index}].s3",
                    f"overlaps function[{other}].s3 on bucket {fn.s3.bucket} (prefix "
                    f"{trigger.prefix!r}, suffix {trigger.suffix!r}): S3 refuses overlapping "
                    "notifications; make the prefixes or suffixes disjoint",
                )
        seen.append((index, fn.s3))


def _overlap(a: S3Trigger, b: S3Trigger) -> bool:
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return prefixes and suffixes


def _check_stages(config: Any, functions: tuple[UserFunction, ...], loader: Loader) -> None:
    deployer = getattr(config, "deployer", None)
    for index, fn in enumerate(functions):
        if not fn.stages:
            continue
        if deployer is None:
            problem = "the deployer moves stage aliases: add a [deployer] table, or drop stages"
            loader.problem(f"function[{index}].stages", problem)
            continue
        unknown = [s for s in fn.stages if s not in deployer.stages]
        if unknown:
            loader.problem(
                f"function[{index}].stages",
                f"{unknown} are not deployer.stages ({', '.join(deployer.stages)})",
            )


def secret_warnings(functions: tuple[UserFunction, ...]) -> list[str]:
    """Environment keys whose names suggest a secret: `ops validate` warns about each."""
    warnings = []
    for index, fn in enumerate(functions):
        for name in fn.environment:
            words = name.lower().replace("-", "_")
            if any(word in words for word in SECRET_WORDS):
                warnings.append(
                    f"function[{index}].environment.{name}: the name suggests a secret; if it "
                    "is one, move it to Secrets Manager and list it under `secrets`"
                )
    return warnings


def deployable(config: Any) -> tuple[str, ...]:
    """What the deployer may update: its `functions` allow-list, and every `[[function]]` that
    has stages (by its Lambda name), without listing them again."""
    deployer = getattr(config, "deployer", None)
    listed = tuple(deployer.functions) if deployer else ()
    staged = tuple(
        function_name(config.stack.name, FAMILY, fn.name)
        for fn in getattr(config, "function", ())
        if fn.stages
    )
    return (*listed, *(name for name in staged if name not in listed))
