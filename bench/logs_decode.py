"""Benchmark: 10,000-event subscription payloads of Lambda report lines, processed end to end.

Three shapes, each in one run and on the same bytes for every row:
  * text: Lambda's tab-separated `REPORT RequestId: ...` lines (a text-format function);
  * json: `platform.report` records of a function that logs in JSON (one JSON parse per line);
  * mixed: what a text-format function's log stream holds: START, application lines, END and
    REPORT per invocation, with an occasional "Task timed out" line.
Rows:
  * bare decode: what any subscriber pays first (base64 -> gzip -> JSON), the floor;
  * ops: the `lambda-report-metrics` action end to end (decode, parse, aggregate, EMF lines);
  * a naive parser: the common hand-written subscriber (text: one `re.search` per field per
    line; json: `json.loads` of every line that mentions platform.report).
Prints the best of several rounds, the median of the per-round ratios to bare decode (targets:
at most 2x for text, 2.5x for json), events/s, and the handler module's import time in a fresh
interpreter (`python -X importtime`).

    python bench/logs_decode.py [text|json|mixed ...]
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.logs.decode import decode
from functions.logs.handler import process
from functions.logs.settings import settings_of
from functions.runtime.budget import TimeBudget
from ops.awslogs import encode

EVENTS = 10_000
ROUNDS = 25
GROUP = "/aws/lambda/acme-api"
FIRST_ID = 37_945_028_512_118_224_733_412_612_345_097_436_720_417_183_301_746_688


def report_line(rng: random.Random, cold: bool) -> str:
    duration = rng.uniform(1, 3000)
    line = (
        f"REPORT RequestId: {request_id(rng)}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 512 MB\t"
        f"Max Memory Used: {rng.randint(60, 512)} MB\t"
    )
    if cold:
        line += f"Init Duration: {rng.uniform(100, 900):.2f} ms\t"
    return line + "\n"


def request_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def json_report_line(rng: random.Random, cold: bool) -> str:
    """A `platform.report` record as Lambda writes it for a function with LogFormat JSON."""
    duration = rng.uniform(1, 3000)
    metrics: dict[str, float] = {
        "durationMs": round(duration, 3),
        "billedDurationMs": int(duration) + 1,
        "memorySizeMB": 512,
        "maxMemoryUsedMB": rng.randint(60, 512),
    }
    if cold:
        metrics["initDurationMs"] = round(rng.uniform(100, 900), 3)
    record = {
        "time": "2024-01-01T00:00:01.000Z",
        "type": "platform.report",
        "record": {"requestId": request_id(rng), "metrics": metrics, "status": "success"},
    }
    return json.dumps(record, separators=(",", ":")) + "\n"


def text_lines(rng: random.Random, count: int) -> list[str]:
    return [report_line(rng, cold=i % 50 == 0) for i in range(count)]


def json_lines(rng: random.Random, count: int) -> list[str]:
    return [json_report_line(rng, cold=i % 50 == 0) for i in range(count)]


def mixed_lines(rng: random.Random, count: int) -> list[str]:
    """START, two application lines, END and REPORT per invocation; every 100th times out."""
    lines: list[str] = []
    while len(lines) < count:
        rid = request_id(rng)
        lines += [
            f"START RequestId: {rid} Version: $LATEST\n",
            f"2024-01-01T00:00:00.000Z\t{rid}\tINFO\tprocessing order {rng.randint(1, 10**6)}\n",
            f'2024-01-01T00:00:00.100Z\t{rid}\tINFO\t{{"items": {rng.randint(1, 9)}}}\n',
        ]
        if len(lines) % 100 == 3:
            lines.append(f"2024-01-01T00:00:03.000Z {rid} Task timed out after 3.00 seconds\n")
        lines += [f"END RequestId: {rid}\n", report_line(rng, cold=len(lines) % 50 == 0)]
    return lines[:count]


SHAPES = {"text": text_lines, "json": json_lines, "mixed": mixed_lines}


def payload(shape: str = "text", count: int = EVENTS, seed: int = 7) -> str:
    rng = random.Random(seed)
    start = 1_700_000_000_000
    events = [
        {
            "id": str(FIRST_ID + i * 7919),  # 56 digits, rising, as CloudWatch Logs ids are
            "timestamp": start + i,
            "message": line,
        }
        for i, line in enumerate(SHAPES[shape](rng, count))
    ]
    message = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": GROUP,
        "logStream": "2024/01/01/[$LATEST]abcdef",
        "subscriptionFilters": ["acme-ops-logs-lambda-reports"],
        "logEvents": events,
    }
    return encode(message)


def bare_decode(data: str) -> int:
    return len(json.loads(gzip.decompress(base64.b64decode(data)))["logEvents"])


FIELDS = {
    name: re.compile(rf"{label}: ([\d.]+)")
    for name, label in [
        ("duration", "Duration"),
        ("billed", "Billed Duration"),
        ("size", "Memory Size"),
        ("used", "Max Memory Used"),
        ("init", "Init Duration"),
    ]
}


def naive(data: str) -> int:
    """What a hand-written subscriber usually does: every line, every field, re.search (and
    json.loads of each line that mentions platform.report)."""
    body = json.loads(gzip.decompress(base64.b64decode(data)))
    values: dict[str, list[float]] = {k: [] for k in FIELDS}
    for event in body["logEvents"]:
        message = event["message"]
        if "platform.report" in message:
            metrics = json.loads(message)["record"]["metrics"]
            for name, key in JSON_FIELDS.items():
                if key in metrics:
                    values[name].append(float(metrics[key]))
        elif "REPORT" in message:
            for name, regex in FIELDS.items():
                found = regex.search(message)
                if found:
                    values[name].append(float(found.group(1)))
    print(json.dumps(values), file=io.StringIO())
    return len(values["duration"])


JSON_FIELDS = {
    "duration": "durationMs",
    "billed": "billedDurationMs",
    "size": "memorySizeMB",
    "used": "maxMemoryUsedMB",
    "init": "initDurationMs",
}


JOB = settings_of({"name": "bench", "action": "lambda-report-metrics", "namespace": "ops/Lambda"})


def ops(data: str) -> int:
    out = io.StringIO()
    result = process(decode(data), JOB, budget=TimeBudget.seconds(60), out=out)
    return int(result["reports"])


def rounds(fns: list[Callable[[str], int]], data: str) -> list[tuple[list[float], int]]:
    """Time every function once per round, interleaved, so drift of a shared machine hits all
    alike; per function: its times and its result."""
    times: list[list[float]] = [[] for _ in fns]
    values = [0] * len(fns)
    for _ in range(ROUNDS):
        for index, fn in enumerate(fns):
            start = time.perf_counter()
            values[index] = fn(data)
            times[index].append(time.perf_counter() - start)
    return list(zip(times, values, strict=True))


def import_time() -> tuple[float, bool]:
    """Cumulative import time of the handler module, and whether boto3 was imported."""
    cmd = [sys.executable, "-X", "importtime", "-c", "import functions.logs.handler"]
    root = Path(__file__).resolve().parent.parent
    err = subprocess.run(cmd, capture_output=True, text=True, cwd=root, check=True).stderr
    total = [ln for ln in err.splitlines() if ln.rstrip().endswith("functions.logs.handler")]
    micros = int(total[-1].split("|")[1]) if total else 0
    return micros / 1000, any(ln.rstrip().endswith(" boto3") for ln in err.splitlines())


def run_shape(shape: str) -> None:
    data = payload(shape)
    print(
        f"shape {shape}: {EVENTS} events, {len(data) / 1e6:.2f} MB base64 "
        f"({len(base64.b64decode(data)) / 1e6:.2f} MB gzip)"
    )
    names = [
        "bare decode (b64+gzip+json)",
        "ops lambda-report-metrics",
        "naive re.search/json per line",
    ]
    timed = rounds([bare_decode, ops, naive], data)
    floor = timed[0][0]
    head = ("best ms", "x decode", "median x", "events/s", "reports")
    print(f"{'what':32} {head[0]:>9} {head[1]:>9} {head[2]:>9} {head[3]:>12} {head[4]:>8}")
    for name, (times, value) in zip(names, timed, strict=True):
        ratio = statistics.median(t / f for t, f in zip(times, floor, strict=True))
        best = min(times)
        print(
            f"{name:32} {best * 1000:9.1f} {best / min(floor):9.2f} {ratio:9.2f} "
            f"{EVENTS / best:12,.0f} {value:8}"
        )


def main() -> None:
    for shape in sys.argv[1:] or list(SHAPES):
        run_shape(shape)
    print(f"({ROUNDS} interleaved rounds; 'median x' is the median of the per-round ratios)")
    print("API calls: 0 for every row (EMF lines on stdout; no PutMetricData)")
    millis, boto = import_time()
    print(f"handler import (-X importtime, cumulative): {millis:.1f} ms; boto3 imported: {boto}")


if __name__ == "__main__":
    main()
