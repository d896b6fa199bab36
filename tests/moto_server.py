"""A moto server on 127.0.0.1, for tests and benches that reach AWS over HTTP (the CLI with
`--endpoint-url`, a subprocess): the one place that starts, waits for and stops one.

Benches use it too (through bench/_moto.py), so it imports nothing else from tests/ but the
moto_gaps patches every server here runs with.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

from tests import moto_gaps


@contextmanager
def moto_server(*, quiet: bool = False) -> Iterator[str]:
    """Start moto on a free port of 127.0.0.1, yield its URL once it accepts requests, stop it.

    The server runs in this process, so tests can reach into moto's backends (to backdate an
    object, say); it shares their state with any `mock_aws` in the same process. `quiet` drops
    werkzeug's line per request, which costs a bench time and drowns its output.
    """
    moto_gaps.apply()  # read the bundled template as AWS does (see tests/moto_gaps.py)
    werkzeug = logging.getLogger("werkzeug")
    if quiet:
        werkzeug.setLevel(logging.ERROR)
    if not werkzeug.handlers:
        # werkzeug otherwise adds a handler on its first request, bound to whatever sys.stderr
        # is then - a CliRunner's capture, so a test's stderr would start with a request line.
        werkzeug.addHandler(logging.StreamHandler(sys.__stderr__))
    # Port 0: the OS picks a free port when the server binds, so nothing can take it in between.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # returns once the server is bound and about to serve
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def main() -> None:
    """`python -m tests.moto_server [PORT]`: the same patched server in the foreground, for the
    README's walkthrough (a stock `moto_server` cannot create the bundled deployer's alias)."""
    import sys
    import time

    moto_gaps.apply()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto (with tests/moto_gaps.py) on http://127.0.0.1:{port}; Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
