"""`dynamodb-scale` against moto: bounds, modes, the decrease budget, duplicates, dry runs."""

from __future__ import annotations

from datetime import timedelta

from botocore.exceptions import ClientError

from tests.test_responders_helpers import (
    ALARM,
    NOW,
    Amended,
    capacity,
    dynamodb_job,
    make_table,
    put_alarm,
    run_once,
    sns_event,
    world,
)


def test_alarm_raises_read_capacity_by_the_factor() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        outcome = run_once(dynamodb_job(), sns_event(), deps)
        assert (outcome.status, outcome.before, outcome.after) == ("acted", 100, 150)
        assert outcome.reason == "set read capacity of dynamodb:table/users: 100 -> 150"
        assert capacity(deps) == (150, 10)  # write capacity untouched


def test_a_duplicate_delivery_does_nothing_the_second_time() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        first = run_once(dynamodb_job(), sns_event(), deps)
        again = run_once(dynamodb_job(), sns_event(), deps, now=NOW + timedelta(hours=2))
        assert first.status == "acted"
        assert (again.status, again.code) == ("skipped", "duplicate")
        assert capacity(deps) == (150, 10)


def test_never_above_the_ceiling() -> None:
    with world() as deps:
        make_table(deps, read=300)
        put_alarm(deps)
        first = run_once(dynamodb_job(), sns_event(), deps)
        second = run_once(dynamodb_job(), sns_event(changed_at=NOW), deps)
        assert (first.before, first.after) == (300, 400)
        assert (second.status, second.code) == ("skipped", "at-ceiling")
        assert "400 units is at or above the ceiling 400" in second.reason
        assert capacity(deps) == (400, 10)


def test_skips_when_the_alarm_is_no_longer_in_alarm() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps, state="OK")
        outcome = run_once(dynamodb_job(), sns_event(), deps)
        assert (outcome.status, outcome.reason) == ("skipped", "not in ALARM any more (now OK)")
        assert capacity(deps) == (100, 10)


def test_dry_run_only_recommends() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        outcome = run_once(dynamodb_job(dry_run=True), sns_event(), deps)
        assert (outcome.status, outcome.code) == ("skipped", "dry-run")
        assert (
            outcome.reason == "dry run: would set read capacity of dynamodb:table/users: 100 -> 150"
        )
        assert capacity(deps) == (100, 10)


def test_on_demand_table_is_skipped_with_the_reason() -> None:
    with world() as deps:
        make_table(deps, on_demand=True)
        put_alarm(deps)
        outcome = run_once(dynamodb_job(), sns_event(), deps)
        assert (outcome.code, outcome.reason) == (
            "on-demand", "table users is on-demand: no capacity to set",
        )  # fmt: skip


def test_table_under_application_auto_scaling_is_left_to_it() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        deps.clients("application-autoscaling").register_scalable_target(
            ServiceNamespace="dynamodb", ResourceId="table/users",
            ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=5, MaxCapacity=500,
        )  # fmt: skip
        outcome = run_once(dynamodb_job(), sns_event(), deps)
        assert outcome.code == "auto-scaling" and "(5-500)" in outcome.reason
        assert capacity(deps) == (100, 10)


def test_an_alarm_on_another_table_is_not_acted_on() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps, name="prod-orders-read", TableName="orders")
        job = dynamodb_job(alarm=None, alarms=["prod-*"])
        outcome = run_once(job, sns_event("prod-orders-read", dims={"TableName": "orders"}), deps)
        assert (outcome.code, outcome.reason) == (
            "other-resource", "the alarm watches TableName orders, not users",
        )  # fmt: skip
        assert capacity(deps) == (100, 10)


def test_an_alarm_this_responder_does_not_watch_is_ignored() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps, name="someone-elses-alarm")
        outcome = run_once(dynamodb_job(), sns_event("someone-elses-alarm"), deps)
        assert outcome.code == "not-watched"
        assert capacity(deps) == (100, 10)


def test_ok_lowers_towards_the_floor_when_asked() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps, state="OK")
        outcome = run_once(dynamodb_job(lower_on_ok=True), sns_event(state="OK"), deps)
        assert (outcome.status, outcome.before, outcome.after) == ("acted", 100, 66)
        assert capacity(deps) == (66, 10)


def test_ok_does_nothing_by_default() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps, state="OK")
        outcome = run_once(dynamodb_job(), sns_event(state="OK"), deps)
        assert outcome.code == "no-action" and capacity(deps) == (100, 10)


def decreases(done: int, last_ago: timedelta):  # type: ignore[no-untyped-def]
    """DescribeTable as the real API answers after `done` decreases today (moto says 0)."""

    def amend(response: dict) -> None:
        throughput = response["Table"]["ProvisionedThroughput"]
        throughput["NumberOfDecreasesToday"] = done
        throughput["LastDecreaseDateTime"] = NOW - last_ago

    return lambda client: Amended(client, "describe_table", amend)


def test_decrease_budget_spent_skips_the_decrease() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        deps.clients.wrap["dynamodb"] = decreases(4, timedelta(minutes=10))
        outcome = run_once(dynamodb_job(direction="down"), sns_event(), deps)
        assert (outcome.status, outcome.code) == ("skipped", "decrease-budget")
        assert "the next is possible in 50 min" in outcome.reason
        del deps.clients.wrap["dynamodb"]
        assert capacity(deps) == (100, 10)


def test_after_four_decreases_one_an_hour_is_still_allowed() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        deps.clients.wrap["dynamodb"] = decreases(7, timedelta(minutes=61))
        outcome = run_once(dynamodb_job(direction="down"), sns_event(), deps)
        del deps.clients.wrap["dynamodb"]
        assert (outcome.status, outcome.before, outcome.after) == ("acted", 100, 66)
        assert capacity(deps) == (66, 10)


def test_never_below_the_floor() -> None:
    with world() as deps:
        make_table(deps, read=60)
        put_alarm(deps)
        first = run_once(dynamodb_job(direction="down"), sns_event(), deps)
        second = run_once(dynamodb_job(direction="down"), sns_event(changed_at=NOW), deps)
        assert (first.after, second.code) == (50, "at-floor")
        assert capacity(deps) == (50, 10)


def test_cool_down_holds_a_second_change_back() -> None:
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        job = dynamodb_job(cooldown="10m")
        run_once(job, sns_event(), deps)
        soon = run_once(job, sns_event(changed_at=NOW), deps, now=NOW + timedelta(minutes=5))
        later = run_once(job, sns_event(changed_at=NOW + timedelta(minutes=10)), deps,
                         now=NOW + timedelta(minutes=11))  # fmt: skip
        assert (soon.code, later.status) == ("cooldown", "acted")
        assert "cool-down ends in 5 min" in soon.reason
        assert capacity(deps) == (225, 10)


def test_a_failed_action_releases_its_claim_so_the_retry_acts() -> None:
    def refuse_update(client):  # type: ignore[no-untyped-def]
        class Failing:
            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                if name == "update_table":
                    error = {"Error": {"Code": "InternalServerError", "Message": "boom"}}
                    raise ClientError(error, "UpdateTable")
                return getattr(client, name)

        return Failing()

    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        deps.clients.wrap["dynamodb"] = refuse_update
        try:
            run_once(dynamodb_job(), sns_event(), deps)
        except ClientError as exc:
            assert "boom" in str(exc)
        else:
            raise AssertionError("the failure must reach the handler")
        del deps.clients.wrap["dynamodb"]
        retry = run_once(dynamodb_job(), sns_event(), deps)
        assert (retry.status, retry.after) == ("acted", 150)


def test_alarm_definition_name_matches_the_job() -> None:
    assert dynamodb_job()["alarm_name"] == ALARM
