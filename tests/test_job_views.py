"""Every job of every example, rendered from its model into `$OPS_JOB` by the function the
template builder uses, reads back through its family's typed view (functions/runtime/view.py)
with every field equal to the model's value; a bad job fails with one `SettingsError` naming
each wrong key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from functions.deployer.copier import CopierSettings
from functions.deployer.deploy import Settings as DeployerSettings
from functions.logs.settings import LogProcessorSettings
from functions.logs.settings import settings_of as processor_settings_of
from functions.purge.continuation import fingerprint
from functions.purge.handler import settings_of, target_module
from functions.purge.settings import PurgeSettings
from functions.responders.settings import ResponderSettings, action_module
from functions.responders.settings import settings_of as responder_settings_of
from functions.runtime.settings import SettingsError
from functions.runtime.view import JobView, check, parse, positive
from ops.config import Config, load_config
from ops.models.log_processor import FunctionProcessor
from ops.models.purge import PURGE_TARGETS
from ops.models.responder import RESPONDER_ACTIONS, Ec2Native
from ops.models.user_function import deployable
from ops.naming import function_name
from templates.jobs import (
    copier_job,
    deployer_job,
    log_processor_job,
    ops_job_value,
    purge_has_function,
    purge_job,
    responder_job,
)
from tests.conftest import ROOT

EXAMPLES = [ROOT / "ops.toml", *sorted((ROOT / "examples").glob("*.toml"))]
FUNCTION_ACTIONS = {a for a, model in RESPONDER_ACTIONS.items() if model is not Ec2Native}


def configs() -> Iterator[tuple[Path, Config]]:
    for path in EXAMPLES:
        yield path, load_config(path)


def as_deployed(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job as the function reads it: `$OPS_JOB`'s bytes, parsed."""
    value: dict[str, Any] = json.loads(ops_job_value(job))
    return value


def plain(value: Any) -> Any:
    """A value as JSON would carry it (tuples as lists), for comparing a view with its job."""
    return json.loads(json.dumps(value))


def default(item: dataclasses.Field[Any]) -> Any:
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default


def assert_view_is_the_job(view: Any, job: Mapping[str, Any]) -> None:
    """The view holds every key of the rendered job, each with the job's value; a field the job
    leaves out holds its default."""
    fields = plain(dataclasses.asdict(view))
    assert set(job) <= set(fields), f"keys no view field reads: {sorted(set(job) - set(fields))}"
    assert {k: fields[k] for k in job} == plain(job)
    defaults = {f.name: default(f) for f in dataclasses.fields(view) if f.name not in job}
    assert {k: fields[k] for k in defaults} == plain(defaults)


def test_every_target_and_action_module_declares_a_view_of_its_own() -> None:
    for target in PURGE_TARGETS:
        view = target_module(target).Settings
        assert issubclass(view, PurgeSettings) and view is not PurgeSettings, target
    for action in FUNCTION_ACTIONS:
        view = action_module(action).Settings
        assert issubclass(view, ResponderSettings) and view is not ResponderSettings, action


# Purge --------------------------------------------------------------------------------------------


def purge_jobs() -> Iterator[tuple[str, Any]]:
    for path, config in configs():
        for section, item in config.items():
            if section.key == "purge" and purge_has_function(item):
                yield f"{path.name}:{item.name}", item


def test_every_example_purge_job_reads_back_through_its_targets_view() -> None:
    seen = set()
    for label, item in purge_jobs():
        job = as_deployed(purge_job(item))
        view = settings_of(job)
        assert type(view).__name__ != "PurgeSettings", label  # the target's own view
        assert_view_is_the_job(view, job)
        for name in (f.name for f in dataclasses.fields(view)):
            wanted = getattr(item, name)
            if name in ("max_deletes", "max_delete_percent") and wanted == 0:
                wanted = None  # 0 is "no limit", rendered as null
            assert getattr(view, name) == wanted, (label, name)
        # A hand-off's fingerprint is the digest of the job as rendered, whatever the view holds.
        text = json.dumps(job, sort_keys=True, separators=(",", ":"))
        assert fingerprint(view) == hashlib.sha256(text.encode()).hexdigest()[:32], label
        seen.add(item.target)
    assert seen == set(PURGE_TARGETS)  # every target has an example job to read back


def test_a_purge_job_with_wrong_keys_names_each_of_them_once() -> None:
    job = as_deployed(purge_job(next(item for _, item in purge_jobs() if item.target == "s3")))
    bad = {**job, "max_deletes": "ten", "older_than": 0, "exclude": "tmp/*"}
    del bad["bucket"]
    with pytest.raises(SettingsError) as raised:
        settings_of(bad)
    message = str(raised.value)
    assert message.startswith("$OPS_JOB: ") and message.count("$OPS_JOB") == 1
    assert 'max_deletes must be an integer or null, got "ten"' in message
    assert "older_than must be greater than 0, got 0" in message
    assert 'exclude must be a list of strings, got "tmp/*"' in message
    assert "bucket is missing (expected a string)" in message


def test_an_unknown_purge_target_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown purge target 'tape'"):
        settings_of({"target": "tape", "name": "x", "older_than": 60})


# Responders ---------------------------------------------------------------------------------------


def responder_jobs() -> Iterator[tuple[str, Any, dict[str, Any]]]:
    for path, config in configs():
        for section, item in config.items():
            if section.key == "responder" and not isinstance(item, Ec2Native):
                alarm = function_name(config.stack.name, "responder", item.name)
                yield f"{path.name}:{item.name}", item, responder_job(item, alarm)


def test_every_example_responder_reads_back_through_its_actions_view() -> None:
    seen = set()
    for label, item, rendered in responder_jobs():
        job = as_deployed(rendered)
        view = responder_settings_of(job)
        assert type(view) is not ResponderSettings, label  # the action's own view
        assert_view_is_the_job(view, job)
        for name in (f.name for f in dataclasses.fields(view)):
            wanted = rendered["alarm_name"] if name == "alarm_name" else getattr(item, name)
            if name == "alarm":
                wanted = None if wanted is None else dataclasses.asdict(wanted)
            assert getattr(view, name) == wanted, (label, name)
        seen.add(item.action)
    assert seen == FUNCTION_ACTIONS  # every action with a function has an example


def test_a_responder_with_wrong_keys_names_each_of_them() -> None:
    _, _, rendered = next(r for r in responder_jobs() if r[1].action == "dynamodb-scale")
    bad = {**as_deployed(rendered), "ceiling": "400", "alarms": "prod-*", "dry_run": None}
    del bad["table"]
    with pytest.raises(SettingsError) as raised:
        responder_settings_of(bad)
    message = str(raised.value)
    assert 'ceiling must be an integer, got "400"' in message
    assert 'alarms must be a list of strings or null, got "prod-*"' in message
    assert "dry_run must be true or false, got null" in message
    assert "table is missing (expected a string)" in message


# Log processors -----------------------------------------------------------------------------------


def processor_jobs() -> Iterator[tuple[str, Any]]:
    for path, config in configs():
        for section, item in config.items():
            if section.key == "log_processor" and isinstance(item, FunctionProcessor):
                yield f"{path.name}:{item.name}", item


def test_every_example_log_processor_reads_back_through_its_actions_view() -> None:
    seen = set()
    for label, item in processor_jobs():
        job = as_deployed(log_processor_job(item))
        view = processor_settings_of(job)
        assert type(view) is not LogProcessorSettings, label  # the action's own view
        assert_view_is_the_job(view, job)
        for name in (f.name for f in dataclasses.fields(view)):
            wanted = getattr(item, name)
            if name == "log_groups":  # listed only where prefixes make the function choose
                wanted = wanted if item.prefixes else None
            assert getattr(view, name) == wanted, (label, name)
        seen.add((item.action, bool(item.prefixes)))
    assert {action for action, _ in seen} == {"lambda-report-metrics", "pattern-alert"}
    assert any(prefixes for _, prefixes in seen)  # a processor that lists its groups


def test_a_log_processor_with_wrong_keys_names_each_of_them() -> None:
    item = next(i for _, i in processor_jobs() if i.action == "pattern-alert")
    bad = {**as_deployed(log_processor_job(item)), "rate_limit": "5m", "log_groups": [1]}
    with pytest.raises(SettingsError) as raised:
        processor_settings_of(bad)
    message = str(raised.value)
    assert 'rate_limit must be an integer, got "5m"' in message
    assert "log_groups must be a list of strings or null, got [1]" in message
    with pytest.raises(ValueError, match="unknown log processor action 'metric-filter'"):
        processor_settings_of({**bad, "action": "metric-filter"})


# Deployer and copier ------------------------------------------------------------------------------


def deployer_jobs() -> Iterator[tuple[str, Config, Any, dict[str, Any]]]:
    for path, config in configs():
        deployer = config.deployer
        if deployer is not None:
            own = function_name(config.stack.name, "deployer", deployer.name)
            yield path.name, config, deployer, deployer_job(deployer, deployable(config), own)


def test_every_example_deployer_reads_back_through_its_view() -> None:
    seen = 0
    for label, config, deployer, rendered in deployer_jobs():
        job = as_deployed(rendered)
        view = DeployerSettings.from_job(job, "eu-central-1")
        fields = plain(dataclasses.asdict(view))
        assert fields.pop("region") == "eu-central-1", label  # from $AWS_REGION, not the job
        assert fields == plain(job), label
        assert view.stages == deployer.stages and view.smoke_event == deployer.smoke_event
        assert view.functions == tuple(deployable(config)) and view.prefix == deployer.prefix
        assert view.buckets == {deployer.region: deployer.bucket, **deployer.replica_buckets}
        assert (view.smoke_test, view.report_prefix) == (
            deployer.smoke_test,
            deployer.report_prefix,
        )
        seen += 1
    assert seen >= 2


def test_every_delayed_replica_copier_reads_back_through_its_view() -> None:
    seen = 0
    for label, _, deployer, _ in deployer_jobs():
        for region, replica in deployer.replica_settings.items():
            if not replica.delayed:
                continue
            job = as_deployed(copier_job(deployer, replica))
            view = CopierSettings.from_job(job)
            assert view == CopierSettings(
                source_bucket=deployer.bucket,
                source_region=deployer.region,
                bucket=replica.bucket,
                prefix=deployer.prefix,
                delay=timedelta(seconds=int(replica.delay)),
            ), (label, region)
            assert set(job) == {f.name for f in dataclasses.fields(view)}
            seen += 1
    assert seen >= 1


def test_a_deployer_or_copier_with_wrong_keys_names_each_of_them() -> None:
    _, _, _, rendered = next(deployer_jobs())
    bad = {**as_deployed(rendered), "stages": "dev", "buckets": ["b"]}
    del bad["own_function"]
    with pytest.raises(SettingsError) as raised:
        DeployerSettings.from_job(bad, "eu-west-1")
    message = str(raised.value)
    assert 'stages must be a list of strings, got "dev"' in message
    assert 'buckets must be an object, got ["b"]' in message
    assert "own_function is missing (expected a string)" in message
    copier = {"source_bucket": "", "source_region": "eu-west-1", "bucket": "b", "delay": "1h"}
    with pytest.raises(SettingsError) as raised:
        CopierSettings.from_job(copier)
    assert str(raised.value) == (
        '$OPS_JOB: source_bucket must not be empty, got ""; prefix is missing (expected a '
        'string); delay must be a whole number of seconds, got "1h"'
    )


# The helper itself --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sample(JobView):
    name: str
    count: int = field(default=1, metadata=check(positive))
    rate: float = 2.0
    on: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    mode: Literal["a", "b"] = "a"
    limit: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    wait: timedelta = field(default=timedelta(minutes=1), metadata=check(positive))


def test_the_helper_reads_each_type_and_leaves_unknown_keys_alone() -> None:
    view = Sample.from_job(
        {
            "name": "n",
            "count": 3,
            "rate": 4,
            "on": True,
            "tags": {"a": "b"},
            "names": ["x", "y"],
            "mode": "b",
            "limit": None,
            "extra": {"k": [1, {"z": None}]},
            "wait": 90,
            "newer_key": "ignored",
        }
    )
    assert view == Sample(
        name="n",
        count=3,
        rate=4.0,
        on=True,
        tags={"a": "b"},
        names=("x", "y"),
        mode="b",
        extra={"k": [1, {"z": None}]},
        wait=timedelta(seconds=90),
    )
    assert isinstance(view.rate, float) and Sample.from_job({"name": "m"}) == Sample(name="m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("name", 3, "name must be a string, got 3"),
        ("count", True, "count must be an integer, got true"),
        ("count", 1.5, "count must be an integer, got 1.5"),
        ("count", -1, "count must be greater than 0, got -1"),
        ("rate", "fast", 'rate must be a number, got "fast"'),
        ("on", "yes", 'on must be true or false, got "yes"'),
        ("tags", {"a": 1}, 'tags must be an object, got {"a": 1}'),
        ("names", ["x", 2], 'names must be a list of strings, got ["x", 2]'),
        ("mode", "c", 'mode must be one of "a", "b", got "c"'),
        ("limit", "ten", 'limit must be an integer or null, got "ten"'),
        ("wait", 1.5, "wait must be a whole number of seconds, got 1.5"),
        ("wait", 0, "wait must be greater than 0, got 0"),
    ],
)
def test_a_wrong_type_is_one_settings_error_naming_the_key(key: str, value: Any, said: str) -> None:
    with pytest.raises(SettingsError, match=f"^{re.escape('$OPS_JOB: ' + said)}$"):
        Sample.from_job({"name": "n", key: value})


def test_every_bad_key_is_in_the_one_error() -> None:
    with pytest.raises(SettingsError) as raised:
        parse(Sample, {"count": "x", "on": 1})
    assert str(raised.value) == (
        "$OPS_JOB: name is missing (expected a string); count must be an integer, got "
        '"x"; on must be true or false, got 1'
    )


def test_a_job_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SettingsError, match="must be a JSON object, got"):
        Sample.from_job(["name"])  # type: ignore[arg-type]


def test_the_helper_refuses_a_type_it_cannot_check() -> None:
    @dataclass(frozen=True)
    class Odd:
        when: complex

    with pytest.raises(TypeError, match="cannot read"):
        parse(Odd, {"when": 1})


# No raw lookups come back ---------------------------------------------------------------------

RAW_LOOKUP = re.compile(r"\bjob(?:\.get\(|\[)")
VIEW_CODE = {Path("functions/runtime/view.py")}  # reads each field of a view by name


def function_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / "functions").rglob("*.py")):
        yield path.relative_to(ROOT), path.read_text()


def test_no_function_looks_a_setting_up_in_the_raw_job() -> None:
    found = [
        f"{path}:{number}: {line.strip()}"
        for path, text in function_sources()
        if path not in VIEW_CODE
        for number, line in enumerate(text.splitlines(), 1)
        if RAW_LOOKUP.search(line)
    ]
    assert found == [], "read the family's view (functions/runtime/view.py) instead:\n" + "\n".join(
        found
    )


def test_every_job_loaded_is_parsed_into_a_view_on_the_spot() -> None:
    loads = [
        (path, line.strip())
        for path, text in function_sources()
        for line in text.splitlines()
        if "load_job()" in line and "def " not in line
    ]
    assert len(loads) >= 5  # purge, responders, logs, deployer, copier
    for path, line in loads:
        assert re.search(r"(settings_of|from_job)\(load_job\(\)", line) or path in VIEW_CODE, (
            path,
            line,
        )


def test_the_raw_lookup_check_sees_what_it_must_refuse() -> None:
    assert RAW_LOOKUP.search('    prefix = job.get("prefix", "")')
    assert RAW_LOOKUP.search("    cutoff = now - timedelta(seconds=int(job['older_than']))")
    assert not RAW_LOOKUP.search("    prefix = job.prefix  # not job_get(")


@pytest.mark.parametrize(
    ("read", "job", "message"),
    [
        (settings_of, {"name": "x"}, "$OPS_JOB: target is missing (expected a string)"),
        (responder_settings_of, {"action": 3}, "$OPS_JOB: action must be a string, got 3"),
        (processor_settings_of, ["a"], '$OPS_JOB must be a JSON object, got ["a"]'),
    ],
)
def test_the_key_that_picks_the_view_is_checked_like_any_field(read, job, message) -> None:
    with pytest.raises(SettingsError) as raised:
        read(job)
    assert str(raised.value) == message
