"""`lambda-concurrency` against moto: raise within the ceiling, restore the baseline on OK."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

from tests.test_responders_helpers import NOW, job_for, put_alarm, run_once, sns_event, world

ALARM = "acme-ops-responder-checkout-throttles"


def concurrency_job(**changes: Any) -> dict[str, Any]:
    item = {
        "name": "checkout-throttles", "action": "lambda-concurrency", "function": "checkout",
        "baseline": 10, "ceiling": 50,
        "alarm": {"namespace": "AWS/Lambda", "metric": "Throttles",
                  "dimensions": {"FunctionName": "checkout"}, "statistic": "Sum",
                  "threshold": 1, "comparison": ">="},
    }  # fmt: skip
    return job_for(**{**item, **changes})


def make_function(deps: Any, reserved: int | None = 10) -> None:
    role = deps.clients("iam").create_role(RoleName="checkout", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    lam = deps.clients("lambda")
    lam.create_function(
        FunctionName="checkout", Runtime="python3.12", Role=role["Role"]["Arn"],
        Handler="app.handler", Code={"ZipFile": code.getvalue()},
    )  # fmt: skip
    if reserved is not None:
        lam.put_function_concurrency(FunctionName="checkout", ReservedConcurrentExecutions=reserved)


def reserved(deps: Any) -> int | None:
    found = deps.clients("lambda").get_function_concurrency(FunctionName="checkout")
    return found.get("ReservedConcurrentExecutions")


def event(**kw: Any) -> dict[str, Any]:
    return sns_event(ALARM, dims={"FunctionName": "checkout"}, **kw)


def test_alarm_raises_then_ceiling_holds_then_ok_restores_what_was_there() -> None:
    with world() as deps:
        make_function(deps, reserved=30)
        put_alarm(deps, ALARM, FunctionName="checkout")
        raised = run_once(concurrency_job(), event(), deps)
        capped = run_once(concurrency_job(), event(changed_at=NOW), deps)
        assert (raised.before, raised.after, reserved(deps)) == (30, 50, 50)
        assert capped.code == "at-ceiling"
        put_alarm(deps, ALARM, state="OK", FunctionName="checkout")
        later = NOW + timedelta(minutes=1)
        restored = run_once(concurrency_job(), event(state="OK", changed_at=later), deps)
        # 30 before the first raise, not the baseline 10: restore what was there.
        assert (restored.status, restored.after, reserved(deps)) == ("acted", 30, 30)


def test_no_reservation_is_not_turned_into_a_cap() -> None:
    with world() as deps:
        make_function(deps, reserved=None)
        put_alarm(deps, ALARM, FunctionName="checkout")
        outcome = run_once(concurrency_job(), event(), deps)
        assert outcome.code == "not-applicable" and reserved(deps) is None


def test_ok_at_baseline_or_without_restore_does_nothing() -> None:
    with world() as deps:
        make_function(deps, reserved=10)
        put_alarm(deps, ALARM, state="OK", FunctionName="checkout")
        at_baseline = run_once(concurrency_job(), event(state="OK"), deps)
        off = run_once(
            concurrency_job(restore_on_ok=False), event(state="OK", changed_at=NOW), deps
        )
        assert (at_baseline.code, off.code, reserved(deps)) == ("at-baseline", "no-action", 10)


def test_ok_never_caps_a_function_that_had_no_reservation() -> None:
    """Bug: ALARM skipped the unreserved function, then OK set `baseline` on it, capping it."""
    with world() as deps:
        make_function(deps, reserved=None)
        put_alarm(deps, ALARM, FunctionName="checkout")
        alarm = run_once(concurrency_job(), event(), deps)
        put_alarm(deps, ALARM, state="OK", FunctionName="checkout")
        ok = run_once(concurrency_job(), event(state="OK", changed_at=NOW), deps)
        assert (alarm.code, ok.status, ok.code) == ("not-applicable", "skipped", "not-applicable")
        assert reserved(deps) is None


def test_ok_without_a_raise_of_ours_falls_back_to_the_baseline() -> None:
    with world() as deps:
        make_function(deps, reserved=40)  # set by someone else; no raise recorded
        put_alarm(deps, ALARM, state="OK", FunctionName="checkout")
        ok = run_once(concurrency_job(), event(state="OK"), deps)
        assert (ok.status, ok.before, ok.after, reserved(deps)) == ("acted", 40, 10, 10)
