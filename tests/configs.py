"""Config texts that several tests and benchmarks build their stacks from."""

from __future__ import annotations

TMP_IMAGES = """
[[purge]]
name = "tmp-images"
target = "s3"
schedule = "rate(1 hour)"
bucket = "acme-media"
prefix = "tmp/"
older_than = "1h"
"""


def one_job(stack: str = "acme-ops") -> str:
    """A stack with the tmp-images S3 purge job alone; append keys of that job to the end."""
    return f'[stack]\nname = "{stack}"\n{TMP_IMAGES}'


def two_jobs(stack: str, old_logs_older_than: str = "7d") -> str:
    """tmp-images plus an old-logs job: a stack where one function can change on its own."""
    return f"""[stack]
name = "{stack}"
tags = {{ team = "sre" }}
{TMP_IMAGES}
[[purge]]
name = "old-logs"
target = "s3"
schedule = "rate(1 day)"
bucket = "acme-logs"
prefix = "old/"
older_than = "{old_logs_older_than}"
"""


SCALE_JOB = """
[[purge]]
name = "job-{i}"
target = "s3"
schedule = "rate(1 hour)"
bucket = "acme-media"
prefix = "tmp/{i}/"
older_than = "1h"
"""


def many_jobs(count: int, stack: str = "scale") -> str:
    """A stack of `count` S3 purge jobs: render at scale (CloudFormation's 500 resources)."""
    return f'[stack]\nname = "{stack}"\n' + "".join(SCALE_JOB.format(i=i) for i in range(count))
