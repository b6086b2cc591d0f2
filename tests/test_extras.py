"""A production process without the extras it does not use: no model provider's SDK, no
PostgreSQL driver on SQLite. The modules are made unimportable in a fresh interpreter, as
if never installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WITHOUT = (
    "import sys\nfor name in ('anthropic', 'openai', 'asyncpg'):\n    sys.modules[name] = None\n"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDESK_", "TEMPORAL_", "ANTHROPIC_", "OPENAI_"))
    }
    return subprocess.run(
        [sys.executable, "-c", WITHOUT + code],
        env=clean | env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_worker_and_the_api_need_no_provider_sdk_and_no_postgresql_driver(
    tmp_path: Path,
) -> None:
    result = _python(
        "from opsdesk.app import create_app\n"
        "from opsdesk.worker import build_workers\n"
        "from opsdesk.ai.select import build_provider\n"
        "from opsdesk.db.migrate import upgrade\n"
        "from opsdesk.settings import Settings\n"
        "settings = Settings()\n"
        "upgrade(settings.resolved_database_url)\n"
        "create_app(settings)\n"
        "print('provider', build_provider(settings))\n",
        OPSDESK_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "provider None" in result.stdout


def test_a_chosen_provider_without_its_sdk_says_which_extra_to_install(tmp_path: Path) -> None:
    result = _python(
        "from opsdesk.ai.select import MissingSdk, build_provider\n"
        "from opsdesk.settings import Settings\n"
        "try:\n"
        "    build_provider(Settings())\n"
        "except MissingSdk as exc:\n"
        "    print(exc)\n",
        OPSDESK_DATA_DIR=str(tmp_path),
        OPSDESK_AI_PROVIDER="anthropic",
        ANTHROPIC_API_KEY="sk-test",
    )
    assert result.returncode == 0, result.stderr
    assert "install opsdesk[anthropic]" in result.stdout
