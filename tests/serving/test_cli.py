"""serve.py itself: its command line and the two servers it starts."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from serve import main, start_servers
from tests.serving.fakes import ROOT, fetch_toml, refuse_to_run


def test_cli_export_into_the_project_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--export", str(repo)], repo=repo, run=refuse_to_run) == 2
    assert "refusing" in capsys.readouterr().err


def test_cli_export_explains_how_to_serve_the_site(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "site"
    assert main(["--export", str(dest)], repo=repo, run=refuse_to_run) == 0
    out = capsys.readouterr().out
    assert f"cd {dest} && python3 -m http.server" in out
    assert "http://localhost:3000" in out


def test_cli_exits_1_when_the_page_port_is_taken(built_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--port", str(port), "--api-port", "0"], repo=built_repo, run=refuse_to_run)
    captured = capsys.readouterr()
    assert code == 1
    assert f"Port {port} is already in use" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("url", ["ftp://x", "http://host/path"])
def test_cli_rejects_a_bad_api_url_with_exit_2(built_repo: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api", url], repo=built_repo, run=refuse_to_run) == 2
    assert "invalid --api URL" in capsys.readouterr().err


def test_start_servers_points_the_page_at_the_demo_proxy(built_repo: Path) -> None:
    servers = start_servers("127.0.0.1", 0, 0, repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is not None
        api_port = servers.proxy.server_address[1]
        assert servers.api_base == f"http://127.0.0.1:{api_port}"
        assert f'api_base = "http://127.0.0.1:{api_port}"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def test_start_servers_uses_whatever_already_listens_on_the_api_port(
    built_repo: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api_port = taken.getsockname()[1]
        servers = start_servers("127.0.0.1", 0, api_port, repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is None
        assert servers.api_base == f"http://localhost:{api_port}"
        assert f'api_base = "http://localhost:{api_port}"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def test_start_servers_with_an_api_url_starts_no_proxy(built_repo: Path) -> None:
    servers = start_servers("127.0.0.1", 0, 0, api_url="https://chat.example.test", repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is None
        assert 'api_base = "https://chat.example.test"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited early: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve.py did not start listening")


@pytest.mark.skipif(
    not all((ROOT / name).is_file() for name in ("index.html", "pyscript.toml")),
    reason="the real page (index.html, pyscript.toml) is not in the repo yet",
)
def test_serve_py_serves_the_real_page_and_proxy_until_sigterm() -> None:
    page_port, api_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "serve.py"),
            "--port",
            str(page_port),
            "--api-port",
            str(api_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(page_port, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/", timeout=10) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        toml = fetch_toml(page_port)
        assert re.search(rf'^api_base = "http://127\.0\.0\.1:{api_port}"', toml, re.MULTILINE)
        request = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/api/sessions",
            data=json.dumps({"config_id": "CHAR_luna"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["session_status"] == "active"
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"Chat page:  http://127.0.0.1:{page_port}/" in out
    # Built already (the tests' serve.build()): no step runs, so none says anything.
    assert out.startswith("Chat page:"), out
    assert f"Demo proxy: http://127.0.0.1:{api_port}" in out
    assert out.rstrip().endswith("Stopped.")
    assert "Traceback" not in err
