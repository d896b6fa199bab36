"""A topic or secret encrypted with a customer KMS key: its function may use the key only through
that service (kms:ViaService), and a key with nothing to decrypt is a config error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.config import load_config
from ops.errors import ConfigError
from ops.render import render
from tests.conftest import ROOT

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = "${AWS::Region}.amazonaws.com"


def statements(path, role: str) -> dict[str, dict[str, Any]]:
    resources = json.loads(render(load_config(path)))["Resources"]
    [policy] = resources[role]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def with_key(write_config, example: str, after: str) -> Any:
    text = (ROOT / "examples" / example).read_text()
    assert after in text
    return write_config(text.replace(after, f'{after}\nkms_key = "{KEY}"', 1))


def test_a_responder_reads_its_webhook_secret_through_secrets_manager_only(write_config) -> None:
    path = with_key(write_config, "responders.toml", 'webhook_secret = "ops/slack-webhook"')
    grant = statements(path, "ResponderUsersReadCapacityRole")["SecretKey"]
    assert grant["Action"] == ["kms:Decrypt"] and grant["Resource"] == [KEY]
    assert grant["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": f"secretsmanager.{VIA}"}}
    }


def test_a_pattern_alert_decrypts_its_webhook_secret_through_secrets_manager_only(
    write_config,
) -> None:
    path = with_key(write_config, "log-processors.toml", 'webhook_secret = "acme/chat-webhook"')
    roles = [
        name
        for name, r in json.loads(render(load_config(path)))["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "SecretKey" in json.dumps(r)
    ]
    assert len(roles) == 1
    grant = statements(path, roles[0])["SecretKey"]
    assert grant["Action"] == ["kms:Decrypt"]
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": f"secretsmanager.{VIA}"
    }


def test_a_pattern_alert_publishing_to_an_encrypted_topic_gets_the_key_through_sns(
    write_config,
) -> None:
    text = (ROOT / "examples" / "log-processors.toml").read_text()
    topic_line = next(ln for ln in text.splitlines() if ln.startswith("topic = "))
    path = with_key(write_config, "log-processors.toml", topic_line)
    resources = json.loads(render(load_config(path)))["Resources"]
    [role] = [
        n
        for n, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and "TopicKey" in json.dumps(r)
    ]
    grant = statements(path, role)["TopicKey"]
    assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": f"sns.{VIA}"}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("alias/aws/sns", "expected a KMS key ARN"),
        (KEY.replace("key/", "alias/"), "expected a KMS key ARN"),
    ],
)
def test_a_kms_key_must_be_a_key_arn(write_config, value: str, says: str) -> None:
    text = (ROOT / "examples" / "responders.toml").read_text()
    text = text.replace(
        'webhook_secret = "ops/slack-webhook"',
        f'webhook_secret = "ops/slack-webhook"\nkms_key = "{value}"',
        1,
    )
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(text))
    assert "kms_key: " + says in bad.value.message


def test_a_kms_key_with_no_secret_to_decrypt_is_refused(write_config) -> None:
    text = (ROOT / "examples" / "responders.toml").read_text()
    text = text.replace(
        'name = "events-write-idle"', f'name = "events-write-idle"\nkms_key = "{KEY}"', 1
    )
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(text))
    assert "kms_key: only a webhook_secret is decrypted with it" in bad.value.message
