"""Bad input on the command line gets a sentence and an exit code, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.conftest import free_port


def _opsdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
    return subprocess.run(
        [sys.executable, "-m", "opsdesk", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = _opsdesk("--help")
    assert result.returncode == 0
    for command in ("dev", "worker", "api", "migrate", "setup-temporal"):
        assert command in result.stdout


def test_invalid_port_is_refused() -> None:
    result = _opsdesk("api", "--port", "70000")
    assert result.returncode == 2
    assert "--port" in result.stderr
    assert "65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_setting_from_the_environment_is_named() -> None:
    result = _opsdesk("migrate", OPSDESK_PORT="not-a-number")
    assert result.returncode == 2
    assert "OPSDESK_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_api_on_a_taken_port_says_so() -> None:
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = _opsdesk("api", "--port", str(port))
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr
