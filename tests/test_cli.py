"""Bad input on the command line gets a sentence and an exit code, never a traceback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import STACKS, free_port

pytestmark = STACKS


def _opsdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSDESK_", "TEMPORAL_", "ANTHROPIC_", "OPENAI_"))
    }
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


def test_report_settings_that_are_not_times_or_zones_are_named() -> None:
    for variable, value, said in (
        ("OPSDESK_BUSINESS_TIME_ZONE", "Mars/Olympus", "is not a time zone"),
        # A region is a directory of zones, not a zone.
        ("OPSDESK_BUSINESS_TIME_ZONE", "America", "is not a time zone"),
        ("OPSDESK_REPORT_AT", "09:00+05:00", "without an offset"),
        ("OPSDESK_AI_PRICES", "{not json", "OPSDESK_AI_PRICES"),
    ):
        result = _opsdesk("schedules", "list", **{variable: value})
        assert result.returncode == 2, (variable, value, result.stderr)
        assert said in " ".join(result.stderr.split()), (variable, value, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_chosen_ai_provider_without_its_key_is_named() -> None:
    result = _opsdesk("worker", OPSDESK_AI_PROVIDER="anthropic")
    assert result.returncode == 2
    assert "OPSDESK_AI_PROVIDER=anthropic needs ANTHROPIC_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_the_shared_keys_refuses_to_start() -> None:
    for command in ("api", "worker"):
        result = _opsdesk(
            command,
            OPSDESK_ENVIRONMENT="production",
            OPSDESK_LINK_SECRET="a-link-secret-of-at-least-32-chars",
        )
        assert result.returncode == 2, result.stderr
        said = " ".join(result.stderr.split())
        assert "OPSDESK_ENVIRONMENT=production needs OPSDESK_SESSION_SECRET, " in said
        assert "OPSDESK_PAYLOAD_KEYS" in said
        assert "OPSDESK_LINK_SECRET," not in said  # the one that is set is not named
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


def test_catalog_import_and_list(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text('[{"sku": "CUP-9", "name": "Cup", "price_cents": 900, "stock": 4}]')
    env = {"OPSDESK_DATA_DIR": str(tmp_path / "state")}
    imported = _opsdesk("catalog", "import", str(catalog), **env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 products" in imported.stderr
    listed = _opsdesk("catalog", "list", "--json", **env)
    assert json.loads(listed.stdout) == [
        {
            "sku": "CUP-9",
            "name": "Cup",
            "description": "",
            "price_cents": 900,
            "currency": "USD",
            "stock": 4,
            "active": True,
        }
    ]


def test_catalog_import_names_what_is_wrong(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text('[{"sku": "cup 9", "name": "Cup", "price_cents": 900}]')
    bad = _opsdesk("catalog", "import", str(catalog), OPSDESK_DATA_DIR=str(tmp_path))
    assert bad.returncode == 2
    assert "0.sku" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = _opsdesk(
        "catalog", "import", str(tmp_path / "nope.json"), OPSDESK_DATA_DIR=str(tmp_path)
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_the_docs_the_commands_point_to_exist() -> None:
    root = Path(__file__).resolve().parents[1]
    source = (root / "src/opsdesk/cli.py").read_text()
    pointed = set(re.findall(r"docs/[\w./-]+\.md", source))
    assert pointed
    assert [doc for doc in sorted(pointed) if not (root / doc).is_file()] == []


def test_maintenance_directory_round_trips_and_bad_files_get_a_sentence(tmp_path: Path) -> None:
    env = {"OPSDESK_DATA_DIR": str(tmp_path)}
    sample = Path(__file__).parents[1] / "src/opsdesk/maintenance/sample_directory.json"
    imported = _opsdesk("maintenance", "import", str(sample), **env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 13 directory entries" in imported.stderr
    listed = _opsdesk("maintenance", "list", "--json", **env)
    assert listed.returncode == 0, listed.stderr
    directory = json.loads(listed.stdout)
    assert {p["id"] for p in directory["properties"]} == {"harbor-12", "elm-48"}
    assert len(directory["vendors"]) == 5
    exported = tmp_path / "exported.json"
    exported.write_text(listed.stdout)
    again = _opsdesk("maintenance", "import", str(exported), **env)
    assert again.returncode == 0, again.stderr

    orphan = tmp_path / "orphan.json"
    orphan.write_text(
        json.dumps(
            {
                "properties": [
                    {
                        "id": "x",
                        "name": "X",
                        "address": "1 Nowhere Road",
                        "owner": "nobody",
                        "units": [{"label": "1"}],
                    }
                ]
            }
        )
    )
    refused = _opsdesk("maintenance", "import", str(orphan), **env)
    assert refused.returncode == 2
    assert "unknown owner nobody" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr
    zone = tmp_path / "zone.json"
    zone.write_text(
        json.dumps(
            {
                "properties": [
                    {**json.loads(orphan.read_text())["properties"][0], "time_zone": "Mars/Olympus"}
                ]
            }
        )
    )
    refused = _opsdesk("maintenance", "import", str(zone), **env)
    assert refused.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in " ".join(refused.stderr.split())
    # An owner's spoken language is a language tag Twilio can speak and listen in.
    spoken = tmp_path / "spoken.json"
    owner = {"id": "ana", "name": "Ana Ruiz", "email": "ana@example.com", "language": "Spanish"}
    spoken.write_text(json.dumps({"owners": [owner]}))
    refused = _opsdesk("maintenance", "import", str(spoken), **env)
    assert refused.returncode == 2
    assert "'Spanish' is not a language tag" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def test_the_drill_refuses_what_it_cannot_run_on(tmp_path: Path) -> None:
    """Each gets a sentence and an exit code before anything starts."""
    not_postgres = _opsdesk("drill", "--database-url", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert not_postgres.returncode == 2
    assert "must name a PostgreSQL database" in " ".join(not_postgres.stderr.split())
    a_folder = _opsdesk("drill", "--json", str(tmp_path))
    assert a_folder.returncode == 2
    assert "name a file in an existing folder" in " ".join(a_folder.stderr.split())
    a_cluster = _opsdesk("drill", TEMPORAL_ADDRESS="127.0.0.1:1")
    assert a_cluster.returncode == 1
    assert "kills a Temporal server of its own" in " ".join(a_cluster.stderr.split())
    nowhere = _opsdesk("drill", "--database-url", "postgresql+asyncpg://x@127.0.0.1:1/db")
    assert nowhere.returncode == 1
    assert "the drill stopped: ConnectionRefusedError" in " ".join(nowhere.stderr.split())
    assert "Traceback" not in nowhere.stderr


async def test_users_refuses_a_common_password_and_turns_a_lost_second_factor_off(
    tmp_path: Path,
) -> None:
    import asyncio

    import pyotp

    from opsdesk.access.second_factor import SecondFactors
    from opsdesk.db import Database
    from opsdesk.settings import Settings
    from opsdesk.temporal.codec import EncryptionCodec, payload_keys

    env = {"OPSDESK_DATA_DIR": str(tmp_path / "state")}

    def users(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "opsdesk", "users", *args],
            env={k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")} | env,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    common = await asyncio.to_thread(
        users, "add", "dana", "--password-stdin", password="password1234"
    )
    assert common.returncode == 2
    said = " ".join(common.stderr.split())
    assert "This password is on a list of common or leaked passwords. Choose another." in said
    assert "Traceback" not in common.stderr
    added = await asyncio.to_thread(
        users,
        "add",
        "dana",
        "--role",
        "admin",
        "--password-stdin",
        password="a long and private passphrase",
    )
    assert added.returncode == 0, added.stderr

    settings = Settings(data_dir=tmp_path / "state")
    db = Database(settings.resolved_database_url)
    factors = SecondFactors(db, EncryptionCodec(payload_keys(settings)))
    try:
        enrolment = await factors.begin("dana")
        await factors.confirm("dana", pyotp.TOTP(enrolment.secret).now())
        assert await factors.enrolled("dana")
        reset = await asyncio.to_thread(users, "reset-second-factor", "dana")
        assert reset.returncode == 0, reset.stderr
        assert "second factor is off" in reset.stderr
        assert not await factors.enrolled("dana")
    finally:
        await db.dispose()
