"""pytest fixture for scripts/emitted-tests: every emitted test meets a fresh endpoint.

With EMITTED_MOTO_URL, moto is reset (POST /moto-api/reset) before each test; with
EMITTED_SERVE_BIN, each test gets its own `serve` on a free loopback port, stopped after it.
The emitted files themselves need none of this: each is meant for one fresh endpoint.
"""

import os
import re
import subprocess
import time
import urllib.request

import pytest


@pytest.fixture(autouse=True)
def fresh_endpoint(request):
    moto = os.environ.get("EMITTED_MOTO_URL")
    serve = os.environ.get("EMITTED_SERVE_BIN")
    if moto:
        urllib.request.urlopen(urllib.request.Request(moto.rstrip("/") + "/moto-api/reset", method="POST")).read()
        request.module.ENDPOINT = moto
        yield
        return
    if not serve:
        yield
        return
    proc = subprocess.Popen(
        [serve, "serve", "--addr", "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    url = None
    while url is None:
        line = proc.stderr.readline()
        found = re.search(r"http://[0-9.:]+/", line)
        if found:
            url = found.group(0)
        elif proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("serve did not start")
    request.module.ENDPOINT = url
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
