"""cfn-lint on a rendered template, through its Python API (no subprocess)."""

from __future__ import annotations

from ops.errors import UsageError

DEFAULT_REGIONS = ["us-east-1"]


def lint_template(body: str, regions: list[str] | None = None) -> list[str]:
    """One line per finding (errors and warnings), empty when the template is clean."""
    from cfnlint.api import ManualArgs, lint
    from cfnlint.exceptions import InvalidRegionException

    try:
        matches = lint(body, config=ManualArgs(regions=regions or DEFAULT_REGIONS))
    except InvalidRegionException as exc:  # a region botocore knows but this cfn-lint does not
        raise UsageError(f"cfn-lint cannot lint for {', '.join(regions or [])}: {exc}") from None
    return [
        f"{m.rule.id} {m.message} (line {m.linenumber})"
        for m in sorted(matches, key=lambda m: (m.linenumber, m.rule.id, m.message))
    ]
