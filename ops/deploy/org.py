"""What `ops apply --org` hands StackSets, and the artifacts it needs first.

`StackSetRequest` is the template rendered once for every instance of `[targets]` (with
`render(..., stack_set=True)`: code from `ops-artifacts-${ArtifactAccount}-${AWS::Region}`, the
administrator account's bucket of the instance's own region) and the stack set's one parameter,
that account. `literals` finds any account id or region still written into it: one template
serves every account and region only if none is.

`StackSetArtifacts` makes one artifact bucket per region of `region_order` in the administrator
account (as `ops apply` makes its own: versioned, encrypted, public access blocked, objects
owned by the bucket owner), gives each the policy that lets the target accounts read code and
nothing more, and uploads every function zip it does not hold yet (content-hash keys: one
HeadObject each, no PutObject for a key already there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ops.config import Config
from ops.deploy.bootstrap import (
    INLINE_TEMPLATE_LIMIT,
    ArtifactBucket,
    bucket_name,
    upload_code,
    upload_template,
)
from ops.deploy.plan import capabilities, code_keys
from ops.deploy.stackset import artifact_bucket_policy
from ops.deploy.summary import Console
from ops.errors import ConfigError, Problem
from ops.models.targets import Targets
from ops.render import NOT_IN_STACK_SETS, render
from templates.common import ARTIFACT_ACCOUNT_PARAMETER

# A 12-digit account id or a region name as a whole word: hex content hashes (letters beside
# the digits) and longer numbers are neither.
ACCOUNT_LITERAL = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")
REGION_LITERAL = re.compile(
    r"(?<![0-9A-Za-z])(af|ap|ca|cn|eu|il|me|mx|sa|us)(-gov|-iso[a-z]?)?"
    r"-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]"
    r"(?![0-9A-Za-z])"
)


def literals(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, literal) for every account id or region written in a template's strings."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from literals(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from literals(value, f"{path}[{index}]")
    elif isinstance(node, str):
        for pattern in (ACCOUNT_LITERAL, REGION_LITERAL):
            for found in pattern.finditer(node):
                yield path, found.group(0)


@dataclass(frozen=True)
class StackSetRequest:
    """The stack set of `[targets]`: one template, rendered once, for every instance."""

    name: str
    targets: Targets
    template: Mapping[str, Any]
    left_out: tuple[str, ...] = ()  # config sections a stack set does not carry

    @classmethod
    def from_config(cls, config: Config) -> StackSetRequest:
        """`--org` needs `[targets]`, and one bucket per region (so no fixed artifact bucket)."""
        source = str(config.source)
        if config.targets is None:
            raise ConfigError(
                source,
                [
                    Problem(
                        "targets",
                        "--org deploys a stack set to the accounts and regions of [targets], "
                        "and the config has none: add [targets] (docs/org.md)",
                    )
                ],
            )
        if config.stack.artifact_bucket:
            raise ConfigError(
                source,
                [
                    Problem(
                        "stack.artifact_bucket",
                        "a stack set reads code from one bucket per region of "
                        "targets.region_order (ops-artifacts-<account>-<region>): leave it unset",
                    )
                ],
            )
        present = {section.key for section, _item in config.items()}
        return cls(
            name=config.stack.name,
            targets=config.targets,
            template=json.loads(render(config, "json", stack_set=True)),
            left_out=tuple(key for key in NOT_IN_STACK_SETS if key in present),
        )

    @property
    def body(self) -> str:
        return json.dumps(self.template, sort_keys=True, separators=(",", ":"))

    @property
    def code_keys(self) -> list[str]:
        return code_keys(self.template)

    @property
    def capabilities(self) -> list[str]:
        return capabilities(self.template)

    @property
    def inline(self) -> bool:
        return len(self.body.encode()) <= INLINE_TEMPLATE_LIMIT

    def parameters(self, admin_account: str) -> dict[str, str]:
        return {ARTIFACT_ACCOUNT_PARAMETER: admin_account}

    def literals(self) -> list[str]:
        return [f"{path}: {value}" for path, value in literals(self.template)]


def organization_id(organizations: Any) -> str:
    """The organization of the administrator account (aws:PrincipalOrgID's value)."""
    return str(organizations.describe_organization()["Organization"]["Id"])


@dataclass
class StackSetArtifacts:
    """The administrator account's artifact buckets, one per region of the stack set."""

    s3: Callable[[str], Any]  # region -> that region's S3 client
    account: str
    targets: Targets
    console: Console
    org_id: str | None = None  # service-managed: the organization that may read
    partition: str = "aws"

    def bucket(self, region: str) -> ArtifactBucket:
        return ArtifactBucket(
            self.s3(region), bucket_name(None, self.account, region), self.account, region
        )

    def prepare(self, keys: list[str]) -> dict[str, list[str]]:
        """Every region's bucket made, its policy set, and `keys` uploaded where missing;
        returns the keys uploaded per region."""
        uploaded = {}
        for region in self.targets.region_order:
            bucket = self.bucket(region)
            bucket.ensure(self.console)
            self.grant(bucket)
            uploaded[region] = upload_code(bucket, keys, self.console)
        return uploaded

    def grant(self, bucket: ArtifactBucket) -> bool:
        """The read-only policy for the targets, written only when it differs; True if written."""
        wanted = artifact_bucket_policy(bucket.name, self.targets, self.org_id, self.partition)
        if self.current_policy(bucket) == wanted:
            return False
        self.console.line(f"Letting the target accounts read code from {bucket.name}")
        bucket.s3.put_bucket_policy(
            Bucket=bucket.name, Policy=json.dumps(wanted), ExpectedBucketOwner=self.account
        )
        return True

    def current_policy(self, bucket: ArtifactBucket) -> Any:
        from botocore.exceptions import ClientError

        try:
            text = bucket.s3.get_bucket_policy(Bucket=bucket.name, ExpectedBucketOwner=self.account)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                return None
            raise
        return json.loads(text["Policy"])

    def template_url(self, body: str, region: str, endpoint_url: str | None) -> str:
        """A template over TemplateBody's limit, put in the bucket of the stack set's region."""
        bucket = self.bucket(region)
        bucket.ensure(self.console)
        return upload_template(bucket, body, endpoint_url)
