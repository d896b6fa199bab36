"""Run a configured function locally, in this process, with a realistic Lambda context.

What runs (handler, timeout, memory, environment) is what the deployed function gets: for a
purge job it is computed from the model with the functions the template's builder uses
(`templates.jobs`), so invoking one job renders nothing and imports no troposphere; for every
other family it is read from the rendered template. The function's own output (logs, EMF) goes
to stderr; the caller prints the result.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ops.config import Config
from ops.errors import OpsError
from ops.models.purge import PurgeJob
from ops.naming import LOCAL_ACCOUNT
from templates.jobs import OPS_JOB, PURGE_HANDLER, ops_job_value, purge_has_function, purge_job


class LocalContext:
    """Exactly the public attributes and the method of AWS's Python `LambdaContext`, no more: a
    function that reads anything else (`timeout`, `region`) must fail here as it would in Lambda.

    As in the runtime (`awslambdaric`), `memory_limit_in_mb` and `function_version` are the
    strings of `$AWS_LAMBDA_FUNCTION_MEMORY_SIZE` / `$AWS_LAMBDA_FUNCTION_VERSION`; `identity` and
    `client_context` are None outside mobile SDK calls. The clock counts down for real.
    """

    def __init__(self, function_name: str, memory: int, timeout: int, region: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{function_name}"
        )
        self.memory_limit_in_mb = str(memory)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionDefinition:
    name: str
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    unresolved: tuple[str, ...]  # variables whose value CloudFormation computes
    code_path: str | None = None  # a [[function]]'s unpacked build, first on sys.path


def function_definition(config: Config, item_name: str) -> FunctionDefinition:
    """The deployed properties of the function behind config item `item_name`."""
    section, item = config.find(item_name)
    if isinstance(item, PurgeJob) and purge_has_function(item):
        return purge_definition(config.function_name(section, item), item)
    return rendered_definition(config, item_name)


def purge_definition(name: str, job: PurgeJob) -> FunctionDefinition:
    """A purge job's function from its model: what `templates.purge` renders for it."""
    return FunctionDefinition(
        name=name,
        handler=PURGE_HANDLER,
        timeout=job.timeout,
        memory=job.memory,
        environment={OPS_JOB: ops_job_value(purge_job(job))},
        unresolved=(),
    )


def rendered_definition(config: Config, item_name: str) -> FunctionDefinition:
    """The properties of the function behind `item_name` in the rendered template."""
    from ops.render import build_template

    section, item = config.find(item_name)
    name = config.function_name(section, item)
    template = build_template(config).to_dict()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and props.get("FunctionName") == name:
            definition = _definition(name, props)
            if section.key == "function":
                from ops.build import unpacked

                index = list(config.function).index(item)
                return replace(definition, code_path=str(unpacked(config, item, index)))
            return definition
    raise OpsError(f"{item_name!r} renders no function of its own (it uses a native action)")


def _definition(name: str, props: Mapping[str, Any]) -> FunctionDefinition:
    variables = props.get("Environment", {}).get("Variables", {})
    literal = {k: v for k, v in variables.items() if isinstance(v, str)}
    return FunctionDefinition(
        name=name,
        handler=props["Handler"],
        timeout=int(props.get("Timeout", 3)),
        memory=int(props.get("MemorySize", 128)),
        environment=literal,
        unresolved=tuple(sorted(set(variables) - set(literal))),
    )


def invoke_local(
    definition: FunctionDefinition,
    event: Any,
    *,
    region: str,
    endpoint_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Any:
    """Import the handler and call it once; its stdout is sent to stderr."""
    env = {
        **definition.environment,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": definition.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(definition.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{definition.name}",
        **(extra_env or {}),
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    module_name, _, func_name = definition.handler.rpartition(".")
    context = LocalContext(definition.name, definition.memory, definition.timeout, region)
    with (
        _environment(env),
        _code_on_path(definition.code_path),
        contextlib.redirect_stdout(sys.stderr),
    ):
        _reset_function_clients()
        handler = getattr(importlib.import_module(module_name), func_name)
        try:
            return handler(event, context)
        except Exception as exc:  # the function failed: say so the way Lambda does
            traceback.print_exc(file=sys.stderr)
            raise FunctionError(definition.name, exc) from exc


class FunctionError(OpsError):
    """The handler raised: Lambda would answer with this error payload (and retry async events)."""

    def __init__(self, function: str, exc: Exception) -> None:
        self.payload = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        super().__init__(f"{function} failed: {type(exc).__name__}: {exc}")


def _reset_function_clients() -> None:
    """Clients cached by an earlier local run may point at another endpoint or region."""
    from functions.runtime import aws

    aws.reset()


@contextlib.contextmanager
def _code_on_path(folder: str | None) -> Iterator[None]:
    """Import a [[function]]'s modules from its build, and forget them afterwards (another
    function's build may have an `app` module too)."""
    if folder is None:
        yield
        return
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(folder):
                del sys.modules[name]


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
