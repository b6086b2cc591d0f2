from __future__ import annotations

import pytest

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory


@pytest.fixture
async def directory(db: Database) -> Directory:
    """The sample directory: 12 Harbor Lane (limit 250.00, owner Harbor Lane Holdings), two
    plumbers (FlowRight first, then Bay Pipe), an electrician, HVAC, a handyman."""
    found = Directory(db)
    await found.import_directory(sample_directory())
    return found
