"""What the security logger wrote, for tests that check a security event (the
``security_log`` fixture in tests/conftest.py)."""

from __future__ import annotations

import io
import json
from typing import Any


class Lines:
    """What the security logger wrote, as the JSON objects its formatter makes."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self, event: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.text.splitlines()]
        return [line for line in lines if line["event"] == event]
