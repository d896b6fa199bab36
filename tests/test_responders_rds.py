"""`rds-extend-storage` against moto: step, ceiling, the 6-hour cool-down, RDS's own states."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from tests.test_responders_helpers import (
    NOW,
    Amended,
    job_for,
    put_alarm,
    run_once,
    sns_event,
    world,
)

ALARM = "acme-ops-responder-orders-disk"


def rds_job(**changes: Any) -> dict[str, Any]:
    item = {
        "name": "orders-disk", "action": "rds-extend-storage", "db_instance": "orders",
        "ceiling_gb": 200,
        "alarm": {"namespace": "AWS/RDS", "metric": "FreeStorageSpace",
                  "dimensions": {"DBInstanceIdentifier": "orders"}, "threshold": 10e9,
                  "comparison": "<"},
    }  # fmt: skip
    return job_for(**{**item, **changes})


def make_db(deps: Any, storage: int = 100, **extra: Any) -> None:
    deps.clients("rds").create_db_instance(
        DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
        AllocatedStorage=storage, MasterUsername="admin", MasterUserPassword="not-a-real-pass",
        **extra,
    )  # fmt: skip
    put_alarm(deps, ALARM, DBInstanceIdentifier="orders")


def storage(deps: Any) -> int:
    [db] = deps.clients("rds").describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
    return int(db["AllocatedStorage"])


def event(**kw: Any) -> dict[str, Any]:
    return sns_event(ALARM, dims={"DBInstanceIdentifier": "orders"}, **kw)


def test_alarm_grows_storage_by_the_step() -> None:
    with world() as deps:
        make_db(deps)
        outcome = run_once(rds_job(step_percent=25), event(), deps)
        assert (outcome.status, outcome.before, outcome.after) == ("acted", 100, 125)
        assert storage(deps) == 125


def test_six_hour_cool_down_between_extensions() -> None:
    with world() as deps:
        make_db(deps)
        run_once(rds_job(), event(), deps)
        soon = run_once(rds_job(), event(changed_at=NOW), deps, now=NOW + timedelta(hours=1))
        later_change = NOW + timedelta(hours=6)
        later = run_once(rds_job(), event(changed_at=later_change), deps,
                         now=later_change + timedelta(minutes=2))  # fmt: skip
        assert soon.code == "cooldown" and "cool-down ends in 5h00m" in soon.reason
        assert (later.status, later.before, later.after) == ("acted", 110, 121)
        assert storage(deps) == 121


def test_ceiling_without_room_for_ten_percent_is_a_skip() -> None:
    with world() as deps:
        make_db(deps, storage=190)
        outcome = run_once(rds_job(), event(), deps)
        assert (outcome.status, outcome.code) == ("skipped", "at-ceiling")
        assert storage(deps) == 190


def test_storage_optimization_in_progress_is_a_cool_down() -> None:
    def optimizing(response: dict) -> None:
        response["DBInstances"][0]["DBInstanceStatus"] = "storage-optimization"

    with world() as deps:
        make_db(deps)
        deps.clients.wrap["rds"] = lambda c: Amended(c, "describe_db_instances", optimizing)
        outcome = run_once(rds_job(), event(), deps)
        del deps.clients.wrap["rds"]
        assert outcome.code == "cooldown" and "optimizing" in outcome.reason
        assert storage(deps) == 100


def test_storage_autoscaling_owns_the_size() -> None:
    with world() as deps:
        make_db(deps, MaxAllocatedStorage=500)
        outcome = run_once(rds_job(), event(), deps)
        assert outcome.code == "auto-scaling" and "up to 500 GiB" in outcome.reason
        assert storage(deps) == 100


def test_a_refusal_by_rds_is_reported_not_retried() -> None:
    message = "You can't currently modify the storage of this DB instance because at least 6 hours"

    def refuse(client):  # type: ignore[no-untyped-def]
        class Refusing:
            exceptions = client.exceptions

            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                if name == "modify_db_instance":
                    error = {"Error": {"Code": "InvalidParameterCombination", "Message": message}}
                    raise ClientError(error, "ModifyDBInstance")
                return getattr(client, name)

        return Refusing()

    with world() as deps:
        make_db(deps)
        deps.clients.wrap["rds"] = refuse
        outcome = run_once(rds_job(), event(), deps)
        again = run_once(rds_job(), event(), deps)
        assert (outcome.status, outcome.code) == ("skipped", "refused")
        assert message in outcome.reason and again.code == "duplicate"


def test_ok_never_shrinks_storage() -> None:
    with world() as deps:
        make_db(deps)
        put_alarm(deps, ALARM, state="OK", DBInstanceIdentifier="orders")
        outcome = run_once(rds_job(), event(state="OK"), deps)
        assert outcome.code == "no-action" and storage(deps) == 100
