"""`[targets]`: the accounts and regions `ops apply --org` deploys the stack to as one
CloudFormation stack set.

Service-managed (`organizational_units`: Organizations deploys to every account of the OUs, and
with `auto_deployment` to accounts that join them later) or self-managed (`accounts`, with the
administration role in this account and the execution role in each target account). The
operation preferences are StackSets' own: how many accounts at once, how many may fail, the
region order and whether regions go one after another or together.

Every check names the key (`targets.organizational_units[1]`) and what was expected; a bad
`[targets]` is a config error (exit 2) before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ops.schema import Loader, check_range, setting

OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
REGION_FORM = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
DEFAULT_ADMIN_ROLE = "AWSCloudFormationStackSetAdministrationRole"
DEFAULT_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"


def _each(pattern: re.Pattern[str], what: str) -> Any:
    def check(values: tuple[str, ...]) -> str | None:
        bad = [v for v in values if not pattern.match(v)]
        if bad:
            return f"expected {what}, got {bad[0]!r}"
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            return f"expected each once, got {twice[0]!r} more than once"
        return None

    return check


def check_role_name(value: str) -> str | None:
    if not ROLE_NAME.match(value):
        return f"expected an IAM role name (up to 64 of letters, digits and +=,.@_-), got {value!r}"
    return None


def check_regions(values: tuple[str, ...]) -> str | None:
    if not values:
        return "expected at least one region, such as ['eu-west-1', 'us-east-1']"
    return _each(REGION_FORM, "region names such as 'eu-west-1'")(values)


@dataclass(frozen=True, kw_only=True)
class Targets:
    """`[targets]`: where the stack set's instances go and how an operation rolls out."""

    region_order: tuple[str, ...] = setting(
        check=check_regions, doc="regions, in the order an operation deploys them"
    )
    organizational_units: tuple[str, ...] = setting(
        (),
        check=_each(OU_ID, "an OU id such as 'ou-ab12-cd34ef56' or a root id 'r-ab12'"),
        doc="service-managed: every account of these OUs (Organizations)",
    )
    auto_deployment: bool | None = setting(
        None, doc="service-managed: deploy to accounts that join the OUs later (default true)"
    )
    retain_stacks_on_account_removal: bool = setting(
        False, doc="service-managed, with auto_deployment: keep a leaving account's stacks"
    )
    accounts: tuple[str, ...] = setting(
        (),
        check=_each(ACCOUNT_ID, "12-digit account ids as strings, such as '111122223333'"),
        doc="self-managed: these accounts",
    )
    administration_role: str | None = setting(
        None, check=check_role_name, doc=f"self-managed: default {DEFAULT_ADMIN_ROLE}"
    )
    execution_role: str | None = setting(
        None, check=check_role_name, doc=f"self-managed: default {DEFAULT_EXECUTION_ROLE}"
    )
    max_concurrent_percent: int = setting(
        25, check=check_range(1, 100), doc="share of accounts deployed at once, per region"
    )
    failure_tolerance_percent: int = setting(
        0, check=check_range(0, 100), doc="share of accounts that may fail per region"
    )
    region_concurrency: Literal["sequential", "parallel"] = setting(
        "sequential", doc="regions one after another (in region_order) or all at once"
    )
    concurrency_mode: Literal["soft", "strict"] = setting(
        "soft",
        doc="soft: max_concurrent_percent at once, whatever the failures; strict: StackSets "
        "lowers the concurrency so failures never exceed failure_tolerance_percent + 1 account",
    )

    @property
    def service_managed(self) -> bool:
        return bool(self.organizational_units)


def check_targets(targets: Targets, loader: Loader) -> None:
    """The keys that go together: OUs or accounts (one of them), the roles with accounts only,
    auto-deployment with OUs only."""
    if bool(targets.organizational_units) == bool(targets.accounts):
        loader.problem(
            "targets",
            "expected either organizational_units (service-managed) or accounts "
            "(self-managed), not both and not neither",
        )
        return
    if targets.service_managed:
        for key in ("administration_role", "execution_role"):
            if getattr(targets, key) is not None:
                loader.problem(
                    f"targets.{key}",
                    "only for self-managed accounts: service-managed stack sets use "
                    "Organizations' own roles",
                )
    else:
        for key, value in (("auto_deployment", targets.auto_deployment),):
            if value is not None:
                loader.problem(f"targets.{key}", "only with organizational_units")
        if targets.retain_stacks_on_account_removal:
            loader.problem(
                "targets.retain_stacks_on_account_removal", "only with organizational_units"
            )
