"""Button payloads survive Rasa's payload parser with the real domain, and name topics that have a guide."""

from __future__ import annotations

from typing import Any

from addons_support import PROJECT_DIR
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message


def parse_payload(payload: str, domain: Domain) -> dict[str, Any]:
    """What Rasa makes of a button press: the intent and the entities it keeps."""
    [message] = RegexMessageHandler().process([Message(data={TEXT: payload})], domain=domain)
    return {
        "intent": (message.get(INTENT) or {}).get("name"),
        "entities": {e["entity"]: e["value"] for e in message.get(ENTITIES) or []},
    }


def rendered(variation: dict[str, Any]) -> dict[str, Any]:
    """A response as Rasa sends it: its text and buttons through the template interpolator (no slots filled)."""
    import copy

    from rasa.core.nlg.interpolator import interpolate

    return interpolate(copy.deepcopy(variation), {})


def domain_buttons(domain: Domain) -> list[dict[str, str]]:
    return [
        button
        for variations in domain.responses.values()
        for variation in variations
        for button in rendered(variation).get("buttons") or []
    ]


def test_responses_render_without_interpolator_errors(domain: Domain) -> None:
    # a payload's {"topic": …} read as a slot name logged two ERROR lines on every greeting
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        for variations in domain.responses.values():
            for variation in variations:
                rendered(variation)

    assert [entry for entry in logs if entry.get("log_level") in ("error", "exception")] == []


def test_the_greeting_buttons_carry_single_braced_payloads(domain: Domain) -> None:
    [greeting] = domain.responses["utter_greet"]
    payloads = [b["payload"] for b in rendered(greeting)["buttons"]]

    assert payloads[0] == '/choose_topic{"topic": "vneid-activate"}'


def test_the_domain_has_buttons(domain: Domain) -> None:
    assert domain_buttons(domain)


def test_every_domain_button_parses_to_a_known_intent_with_all_its_entities(domain: Domain) -> None:
    for button in domain_buttons(domain):
        payload = button["payload"]
        parsed = parse_payload(payload, domain)

        assert parsed["intent"] in domain.intents, payload
        if "{" in payload:
            assert parsed["entities"], payload


def test_every_topic_button_opens_a_guide(domain: Domain) -> None:
    guides = {path.stem for path in (PROJECT_DIR / "knowledge").glob("*.md")}
    for button in domain_buttons(domain):
        topic = parse_payload(button["payload"], domain)["entities"].get("topic")
        if topic is not None:
            assert topic in guides, button


def test_clarify_button_payload_keeps_its_topic(domain: Domain) -> None:
    parsed = parse_payload('/choose_topic{"topic": "vneid-activate"}', domain)

    assert parsed == {"intent": "choose_topic", "entities": {"topic": "vneid-activate"}}


def test_the_force_start_button_keeps_its_mode(domain: Domain) -> None:
    # actions/walkthrough.py sends this for "Vẫn xem các bước" after the checklist; domain.yml declares `mode` for it
    parsed = parse_payload('/start_walkthrough{"topic": "dvc-submit", "mode": "force"}', domain)

    assert parsed == {"intent": "start_walkthrough", "entities": {"topic": "dvc-submit", "mode": "force"}}


def test_domain_entities(domain: Domain) -> None:
    # the guard no longer sends the reason for bad_input as a `problem` entity
    assert set(domain.entities) == {"topic", "mode", "section", "rating", "rating_q", "procedure", "part"}


def test_a_procedure_button_opens_one_part_of_its_card(domain: Domain) -> None:
    # procedures/cards.py sends these for "Giấy tờ cần có", "Lệ phí và thời gian"…; the code stays a string
    parsed = parse_payload('/procedure{"procedure": "1.003677", "part": "fee_time"}', domain)

    assert parsed == {"intent": "procedure", "entities": {"procedure": "1.003677", "part": "fee_time"}}
