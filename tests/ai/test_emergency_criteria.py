"""The written emergency criteria: the rules follow them over the whole labelled set, read
negations and false friends, raise a model's answer to an emergency when a criterion is
met, and tell a tenant reporting gas, smoke or carbon monoxide to call for help first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.triage import agreement, by_rules, cases

from opsdesk.ai.emergency import PolicyFileError, default_policy, load_policy
from opsdesk.ai.models import TriageRequest
from opsdesk.ai.tasks import Triager, rules_triage
from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from tests.ai.fake_llm import FakeLLM, anthropic_tool, fake_llm
from tests.ai.test_tasks import claude
from tests.test_cli import _opsdesk as opsdesk

SHIPPED = Path(__file__).parents[2] / "src" / "opsdesk" / "ai" / "emergency_criteria.toml"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with fake_llm() as fake:
        yield fake


def test_no_labelled_emergency_is_triaged_as_routine_by_the_rules() -> None:
    labelled = cases()
    assert len(labelled) >= 100
    assert {c.lang for c in labelled} >= {"en", "es", "fr", "de", "pt"}
    found = agreement(labelled, by_rules(labelled))
    assert found["emergencies_as_routine"] == []
    assert found["missed_emergencies"] == []
    assert found["emergency_recall"] == 1.0


@pytest.mark.parametrize(
    ("description", "priority", "criterion"),
    [
        # Said to be over, or said not to be there.
        ("the leak was fixed last week, now the tap drips", "routine", None),
        ("There is no gas smell, the burner just clicks", "routine", None),
        ("No smoke or sparks, the outlet is just loose", "routine", None),
        ("La fuite a été réparée, le joint est juste sale", "routine", None),
        # False friends: words of an emergency that are not one.
        ("The smoke alarm keeps chirping, it needs a new battery", "routine", None),
        ("The floodlight over the parking spot flickers", "routine", None),
        ("the gas bill seems high this month", "routine", None),
        ("The guest toilet won't flush, we use the main one", "routine", None),
        ("The closet door won't close properly", "routine", None),
        ("The fridge door won't close unless you push it", "urgent", None),
        ("One outlet in the bedroom has no power", "routine", None),
        # What the criteria name, in several languages and ways of writing.
        ("no hot water", "emergency", "no_water"),
        ("NO HOT WATER since monday!!!", "emergency", "no_water"),
        ("Sin agua caliente desde ayer", "emergency", "no_water"),
        ("Es riecht stark nach Gas im Treppenhaus", "emergency", "gas"),
        ("ça sent le gaz dans l'immeuble", "emergency", "gas"),
        ("o alarme de monóxido de carbono está tocando", "emergency", "carbon_monoxide"),
        ("Our only toilet won't flush", "emergency", "no_toilet"),
        ("front door won't lock after a break-in", "emergency", "will_not_lock"),
        ("sewer backed up into the tub", "emergency", "sewage"),
        ("power outage in my unit only", "emergency", "no_power"),
        # Heat by the temperature given: none given counts; 45 °F (7 °C) is the line.
        ("no heat", "emergency", "no_heat"),
        ("no heat and it's 40 degrees inside", "emergency", "no_heat"),
        ("Sin calefacción, estamos a 5 grados", "emergency", "no_heat"),
        ("no heat but it's 68°F in here, no rush", "urgent", None),
        ("Chauffage en panne, il fait 19 °C", "urgent", None),
        # Cooling is switched off in the shipped criteria: urgent, not an emergency.
        ("AC is not working and it's 101 degrees", "urgent", None),
    ],
)
def test_negations_false_friends_and_temperatures(
    description: str, priority: str, criterion: str | None
) -> None:
    policy = default_policy()
    assert rules_triage(description, policy).priority == priority, description
    met = policy.match(description)
    assert (met.criterion if met else None) == criterion, description


def test_gas_smoke_and_carbon_monoxide_tell_the_tenant_to_call_first() -> None:
    policy = default_policy()
    for description in (
        "I smell gas in the kitchen",
        "smoke coming out of the outlet",
        "the CO alarm is going off",
    ):
        met = policy.match(description)
        assert met is not None, description
        assert met.call_first == "911", description
    flood = policy.match("water pouring through the ceiling")
    assert flood is not None
    assert flood.call_first == ""


async def test_the_rules_are_a_floor_under_the_model(llm: FakeLLM, db: Database) -> None:
    calm = {
        "category": "appliance",
        "priority": "routine",
        "emergency": False,
        "summary": "Stove smells odd",
        "trade": "appliance_repair",
    }
    llm.queue(anthropic_tool("record_triage", calm), anthropic_tool("record_triage", calm))
    triager = Triager(claude(llm), UsageLog(db))

    gas = await triager.triage(
        TriageRequest(request_id="r1", description="Strong smell of gas near the stove")
    )
    assert (gas.triage.priority, gas.triage.emergency) == ("emergency", True)
    assert gas.raised is True
    assert gas.emergency is not None
    assert gas.emergency.criterion == "gas"
    assert gas.triage.trade == "hvac"  # the criterion's trade
    assert gas.triage.summary == "Stove smells odd"  # the rest is still the model's
    # The model read the written criteria in its instructions.
    system = llm.requests[0]["system"]
    assert "A smell of gas, or gas escaping (the tenant must call 911 first" in system
    assert "No heat when it is colder than 45 °F" in system

    # Without a criterion met, the model's answer stands as it gave it.
    dull = await triager.triage(
        TriageRequest(request_id="r2", description="The oven light is out and the door squeaks")
    )
    assert (dull.triage.priority, dull.raised, dull.emergency) == ("routine", False, None)


def test_a_replacement_file_and_files_that_cannot_be_used(tmp_path: Path) -> None:
    mine = tmp_path / "criteria.toml"
    text = SHIPPED.read_text().replace('emergency_number = "911"', 'emergency_number = "112"')
    mine.write_text(text.replace("enabled = false", "enabled = true"))
    policy = load_policy(mine)
    met = policy.match("Gasgeruch in der Küche")
    assert met is not None
    assert met.call_first == "112"
    hot = policy.match("AC is not working and it's 101 degrees")
    assert hot is not None
    assert hot.criterion == "no_cooling"
    assert policy.match("AC is not working, it's 75 degrees") is None

    broken = tmp_path / "broken.toml"
    for content, problem in (
        ("criterion = [", "is not valid TOML"),
        ('emergency_number = "call us"\n', "emergency_number"),
        (
            '[[criterion]]\nid = "gas"\nwords = "Gas"\ntrade = "plumber"\nphrases = ["gas"]\n'
            '[[criterion]]\nid = "gas"\nwords = "Gas"\ntrade = "plumber"\nphrases = ["gaz"]\n',
            "the criterion id gas is used twice",
        ),
        (
            '[[criterion]]\nid = "gas"\nwords = "Gas"\ntrade = "wizard"\nphrases = ["gas"]\n',
            r"criterion 1 \(gas\), trade: Input should be 'plumber'",
        ),
    ):
        broken.write_text(content)
        with pytest.raises(PolicyFileError, match=problem):
            load_policy(broken)
    with pytest.raises(PolicyFileError, match="cannot be read"):
        load_policy(tmp_path / "missing.toml")


def test_a_bad_criteria_file_stops_the_desk_from_starting(tmp_path: Path) -> None:
    broken = tmp_path / "criteria.toml"
    broken.write_text('emergency_number = "911"\n[[criterion]]\nid = "gas"\n')
    result = opsdesk("worker", OPSDESK_EMERGENCY_CRITERIA=str(broken))
    said = " ".join(result.stderr.split())
    assert result.returncode == 2, said
    assert "invalid settings: OPSDESK_EMERGENCY_CRITERIA: the emergency criteria file" in said
    assert "criterion 1 (gas), words: Field required" in said
    assert "Traceback" not in said
