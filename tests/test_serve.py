"""`clearline serve` as a user starts it: a real uvicorn process on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_serve_publishes_openapi_and_checks_keys(db_url: str, tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).with_name("clearline"))]
    created = subprocess.run(
        [*cli, "keys", "create", "--role", "analyst", "--db", db_url],
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip()
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [*cli, "serve", "--db", db_url, "--port", str(port), "--registry", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                status, doc = _get(f"{base}/openapi.json")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    pytest.fail(server.stderr.read().decode())
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer within 10 s")
        assert status == 200 and "/v1/accounts/{account_id}/review" in doc["paths"]
        assert _get(f"{base}/v1/me")[0] == 401
        status, me = _get(f"{base}/v1/me", key)
        assert status == 200 and me["role"] == "analyst"
    finally:
        server.terminate()
        server.wait(timeout=10)
