"""A webhook is named by its Secrets Manager secret, never given as the URL itself (which would
land in $OPS_JOB and the IAM policy), and the policy grants exactly that secret."""

from __future__ import annotations

import json

import pytest

from ops.config import load_config
from ops.errors import ConfigError
from ops.render import render
from templates.iam import secret_arn
from tests.conftest import ROOT

URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
EXAMPLES = [("responders.toml", "ops/slack-webhook"), ("log-processors.toml", "acme/chat-webhook")]
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/slack-webhook"


@pytest.mark.parametrize(("example", "name"), EXAMPLES)
@pytest.mark.parametrize("given", [URL, "hooks.slack.com/services/T000/B000/X", "http://x/y"])
def test_a_webhook_url_instead_of_a_secret_is_refused_and_not_repeated(
    write_config, example: str, name: str, given: str
) -> None:
    text = (ROOT / "examples" / example).read_text().replace(f'"{name}"', f'"{given}"')
    with pytest.raises(ConfigError) as refused:
        load_config(write_config(text))
    message = refused.value.message
    assert (
        "webhook_secret: expected the name of a Secrets Manager secret that holds the URL"
        in message
    )
    assert (
        given not in message
    )  # a webhook URL is a credential: never echoed to a terminal or CI log


@pytest.mark.parametrize(("example", "name"), EXAMPLES)
def test_a_secret_arn_is_taken_and_granted_with_the_random_suffix(
    write_config, example: str, name: str
) -> None:
    arn = ARN.replace("ops/slack-webhook", name)
    text = (ROOT / "examples" / example).read_text().replace(f'"{name}"', f'"{arn}"')
    template = render(load_config(write_config(text)))
    assert f'"{arn}-??????"' in template  # a partial ARN matches its secret's full ARN
    assert URL not in template


@pytest.mark.parametrize(
    ("given", "granted"),
    [
        (ARN, f"{ARN}-??????"),
        (f"{ARN}-AbC123", f"{ARN}-AbC123"),  # complete: Secrets Manager's own six characters
    ],
)
def test_secret_arn(given: str, granted: str) -> None:
    assert secret_arn(given) == granted


def test_a_secret_name_gets_the_suffix_pattern() -> None:
    here = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
    assert json.loads(json.dumps(secret_arn("ops/slack").to_dict())) == {
        "Fn::Sub": f"{here}:secret:ops/slack-??????"
    }
