"""Patches for the places where moto's CloudFormation accepts less than AWS's does (moto 5.2.5).

They apply to the moto the tests and benches run in this process (the in-process server of
tests/moto_server.py), never to what `ops render` emits: the template stays the CloudFormation AWS
documents, and these make moto read it the way AWS does. Each patch names the gap it covers; drop
one when moto models the resource itself (`tests/test_moto_gaps.py` says when).

- `AWS::Lambda::Alias`: moto has no CloudFormation model for it, so it skips the resource, a `Ref`
  to the alias resolves to nothing, and an `AWS::Lambda::Permission` on the alias fails inside moto
  with KeyError 'FunctionName' (HTTP 500). `LambdaAliasModel` creates, updates and deletes the alias
  through moto's own Lambda backend; `Ref` gives the alias ARN, as on AWS.
- `AWS::KMS::Key` with `Tags`: CloudFormation spells the tags `Key`/`Value`, moto's KMS backend
  expects the API's `TagKey`/`TagValue` and fails with KeyError 'TagKey'. The patch converts them.
- `AWS::IAM::Role` `Policies`: moto stores a CloudFormation role's inline policy as the template's
  dict, where the API stores JSON text, and its IAM enforcement then fails on every request of that
  role with KeyError 'policy_document' (HTTP 500). The patch stores the JSON text, as PutRolePolicy
  does, so a function's own role can be enforced.
- IAM enforcement and resources: moto names the resource of a request only for a few services
  (S3 among them) and checks every other request against the resource "*", which no scoped
  statement matches, so every least-privilege role would fail. Where moto names no resource the
  patch checks the action alone; and for S3's DeleteObjects, which moto checks against the bucket
  where AWS checks each key, a statement on keys of that bucket counts. The resources themselves
  are checked on the rendered template (test_render and the family render tests).
- IAM enforcement and signatures: moto recomputes the SigV4 signature of a rest-json GET with a
  query string (Lambda's ListFunctions, for one) differently from botocore and answers
  SignatureDoesNotMatch. The patch skips moto's signature comparison; the access key must still
  be one moto issued (an unknown key is still InvalidClientTokenId), and botocore signs as AWS
  expects.
- IAM enforcement and action names: moto prefixes an action with the request's signing name, so
  CloudWatch's DescribeAlarms is checked as `monitoring:DescribeAlarms`, where IAM (and every
  policy) says `cloudwatch:`, and Lambda's Invoke as `lambda:Invoke`, where IAM says
  `lambda:InvokeFunction`. The patch maps those names to IAM's.
- `AWS::S3::Bucket` `VersioningConfiguration`: moto's CloudFormation creates the bucket with its
  encryption and tags and drops the rest, so the deploy bucket is unversioned and `ops push` (which
  pins the upload's version) fails on moto only. The patch puts the declared versioning after
  create and update.
- IAM enforcement and object versions: moto checks every HeadObject as `s3:GetObject`, where AWS
  checks a HeadObject of a `versionId` as `s3:GetObjectVersion` (as it does GetObject of one), so a
  role that may read versions alone (the delayed replica's copier) fails on moto only. The patch
  checks a versioned HEAD as AWS does.
- `TemplateURL` on a loopback endpoint: a template over CreateChangeSet's 51,200-byte inline limit
  goes through the artifact bucket, and with `--endpoint-url http://127.0.0.1:PORT` ops addresses
  it path-style on that endpoint. moto reads a path-style URL only when it says "localhost" and
  takes "127" for the bucket otherwise (NoSuchBucket). The patch reads loopback URLs path-style.
- IAM enforcement and batch deletes of versions: moto checks every DeleteObjects as
  `s3:DeleteObject`, where AWS checks each entry that names a `VersionId` as
  `s3:DeleteObjectVersion` (and only the others as `s3:DeleteObject`), so a role without
  DeleteObjectVersion would purge a versioned bucket on moto only. The patch checks the
  request for each action its entries need, as AWS does.
- Bucket policy conditions: moto checks an object request against the bucket's policy with no
  request context, and takes every statement that has a `Condition` as DENIED, Allow or Deny,
  met or not; so a stack set artifact bucket (`DenyInsecureTransport` on `aws:SecureTransport`,
  reads for `aws:PrincipalOrgID`) refuses its own owner's HeadObject and PutObject with 403 on
  moto only. The patch leaves conditioned statements out of moto's check (it cannot evaluate
  them); the statements themselves are checked on the policy JSON (test_stackset_artifacts).
- Stack set instance stacks: moto names a self-managed instance's stack `StackSet:<set>`, a
  name CloudFormation refuses (AWS names it `StackSet-<set>-<uuid>`), and every physical name
  derived from it is then invalid too (the dead-letter queue's: InvalidParameterValue from SQS),
  so CreateStackInstances of the bundled stack fails on moto only. The patch names the stack as
  AWS does.

StackSets gaps left unpatched (the tests say which part they cannot show; docs/org.md): moto
never assumes the administration or execution role and runs every operation to SUCCEEDED within
its call (the failed-instance report is a Stubber test); UpdateStackSet does not update the
instances' stacks; ListStackInstances has no DriftStatus; DeleteStackInstances ignores a
service-managed set's DeploymentTargets.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlparse

from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase
from moto.iam.models import Role
from moto.kms.models import Key

_applied = False


class LambdaAliasModel(CloudFormationModel):
    """`AWS::Lambda::Alias` for moto's CloudFormation, backed by moto's Lambda aliases."""

    def __init__(self, arn: str, name: str, function_name: str) -> None:
        self.arn = arn
        self.name = name
        self.function_name = function_name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # Name is required and names the alias; it is not a generated physical name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("AliasArn",)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "AliasArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaAliasModel:
        props = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        function = backend.get_function(props["FunctionName"])
        alias = backend.create_alias(
            name=props["Name"],
            function_name=function.function_name,
            function_version=str(props["FunctionVersion"]),
            description=props.get("Description", ""),
            routing_config=props.get("RoutingConfig", {}),
        )
        return cls(alias.arn, alias.name, function.function_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LambdaAliasModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaAliasModel:
        props = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        backend.update_alias(
            name=original_resource.name,
            function_name=original_resource.function_name,
            function_version=str(props["FunctionVersion"]),
            description=props.get("Description"),
            routing_config=props.get("RoutingConfig"),
        )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        name = resource_name.rsplit(":", 1)[-1]  # the physical id is the alias ARN
        _delete_alias(
            account_id, region_name, name, cloudformation_json["Properties"]["FunctionName"]
        )

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_alias(account_id, region_name, self.name, self.function_name)

    def is_created(self) -> bool:
        return True


def _delete_alias(account_id: str, region: str, name: str, function_name: str) -> None:
    """As on AWS, an alias goes with its function: a function deleted first leaves nothing."""
    from moto.awslambda.exceptions import UnknownFunctionException

    with contextlib.suppress(UnknownFunctionException):
        lambda_backends[account_id][region].delete_alias(name=name, function_name=function_name)


def _kms_key_with_cloudformation_tags() -> None:
    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: type[Key], resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any):
        props = cloudformation_json.get("Properties", {})
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        fixed = {**cloudformation_json, "Properties": {**props, "Tags": tags}}
        return original(cls, resource_name, fixed, *args, **kw)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign, assignment]


def _role_policies_as_json_text() -> None:
    original = Role.put_policy

    def put_policy(self: Role, policy_name: str, policy_json: Any) -> None:
        text = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)
        original(self, policy_name, text)

    Role.put_policy = put_policy  # type: ignore[method-assign]


def _resources_moto_cannot_name() -> None:
    original = IAMPolicyStatement._check_element_matches

    def matches(self: IAMPolicyStatement, element: Any, value: str) -> bool:
        if element == "Resource" and value == "*":
            return True  # moto did not say which resource: only the action is checked
        if original(self, element, value):
            return True
        if element != "Resource" or not value.startswith("arn:aws:s3:::") or "/" in value:
            return False
        patterns = self._statement.get("Resource", [])
        patterns = [patterns] if isinstance(patterns, str) else patterns
        return any(str(p).startswith(f"{value}/") for p in patterns)

    IAMPolicyStatement._check_element_matches = matches  # type: ignore[method-assign,assignment]


# Signing name -> IAM action prefix, where the two differ (the services the stack calls).
IAM_PREFIXES = {"monitoring": "cloudwatch", "tagging": "tag"}
# moto's operation name -> IAM's action, where the two differ.
IAM_ACTIONS = {"lambda:Invoke": "lambda:InvokeFunction"}


def _iam_action_prefixes() -> None:
    original = IAMRequestBase.__init__

    def init(self: IAMRequestBase, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        named = f"{IAM_PREFIXES.get(service, service)}:{action}"
        self._action = IAM_ACTIONS.get(named, named)

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def _bucket_versioning_from_cloudformation() -> None:
    from moto.s3.models import FakeBucket, s3_backends

    def versioned(original: Any, template_at: int) -> Any:
        def build(cls: type[FakeBucket], *args: Any, **kwargs: Any) -> FakeBucket:
            bucket = original.__func__(cls, *args, **kwargs)
            declared = (
                args[template_at] if len(args) > template_at else kwargs["cloudformation_json"]
            )
            properties = declared.get("Properties", {})
            status = (properties.get("VersioningConfiguration") or {}).get("Status")
            if status:
                backend = s3_backends[bucket.account_id][bucket.partition]
                backend.put_bucket_versioning(bucket.name, status)
            return bucket

        return classmethod(build)

    FakeBucket.create_from_cloudformation_json = versioned(  # type: ignore[method-assign]
        FakeBucket.create_from_cloudformation_json, 1
    )
    FakeBucket.update_from_cloudformation_json = versioned(  # type: ignore[method-assign]
        FakeBucket.update_from_cloudformation_json, 2
    )


def _head_of_a_version_is_get_object_version() -> None:
    from moto.s3.responses import ACTION_MAP

    ACTION_MAP["KEY"]["HEAD"]["versionId"] = "GetObjectVersion"


def _batch_delete_of_versions_is_delete_object_version() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._authenticate_and_authorize_s3_action

    def authorize(self: S3Response, bucket_name: str | None = None, key_name: str | None = None):
        if key_name or self.data.get("Action") != "DeleteObject" or not self.is_delete_keys():
            return original(self, bucket_name=bucket_name, key_name=key_name)
        body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
        entries, versioned = body.count(b"<Object>"), body.count(b"<VersionId>")
        needed = ["DeleteObjectVersion"] if versioned else []
        needed += ["DeleteObject"] if entries > versioned else []
        try:
            for action in needed:
                self.data["Action"] = action
                original(self, bucket_name=bucket_name)
        finally:
            self.data["Action"] = "DeleteObject"
        return None

    S3Response._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign]


def _no_signature_comparison() -> None:
    IAMRequestBase.check_signature = lambda self: None  # type: ignore[method-assign]


def _template_url_on_loopback() -> None:
    from moto.cloudformation import models, responses, utils

    original = utils.get_stack_from_s3_url

    def read(template_url: str, account_id: str, partition: str) -> str:
        if urlparse(template_url).hostname == "127.0.0.1":
            template_url = template_url.replace("127.0.0.1", "localhost", 1)
        return original(template_url, account_id=account_id, partition=partition)

    responses.get_stack_from_s3_url = read  # type: ignore[assignment]
    models.get_stack_from_s3_url = read  # type: ignore[assignment]


def _bucket_policy_conditions_unevaluated() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy["Statement"]
        statements = statements if isinstance(statements, list) else [statements]
        policy["Statement"] = [s for s in statements if "Condition" not in s]
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _stack_set_instance_stack_names() -> None:
    from moto.cloudformation.models import CloudFormationBackend
    from moto.moto_api._internal import mock_random

    original = CloudFormationBackend.create_stack

    def create_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("StackSet:"):
            name = f"StackSet-{name.split(':', 1)[1]}-{mock_random.uuid4()}"
        return original(self, name, *args, **kwargs)

    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]


def apply() -> None:
    """Install the patches once per process; moto caches its model map, so clear it after."""
    global _applied
    if _applied:
        return
    _kms_key_with_cloudformation_tags()
    _role_policies_as_json_text()
    _resources_moto_cannot_name()
    _no_signature_comparison()
    _iam_action_prefixes()
    _head_of_a_version_is_get_object_version()
    _template_url_on_loopback()
    _bucket_versioning_from_cloudformation()
    _batch_delete_of_versions_is_delete_object_version()
    _bucket_policy_conditions_unevaluated()
    _stack_set_instance_stack_names()
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _applied = True
