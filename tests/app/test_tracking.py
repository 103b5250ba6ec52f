"""app/tracking.py, pure parts: the receipt's code, the verification, the citizen's steps."""
from __future__ import annotations

from datetime import datetime, timezone

from app.tracking import steps_from_events, tracking_code, verification_matches
from crm.models import TicketEvent

AT = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def test_the_code_is_stable_per_reference_and_secret() -> None:
    code = tracking_code("s", "GRU-2026-000001")
    assert len(code) == 8 and code == tracking_code("s", "gru-2026-000001 ")
    assert code != tracking_code("s", "GRU-2026-000002") and code != tracking_code("t", "GRU-2026-000001")


def test_verification_by_phone_digits_or_code() -> None:
    code = tracking_code("s", "GRU-2026-000001")
    assert verification_matches("5678", phones=["+33612345678"], code=code)
    assert not verification_matches("1234", phones=["+33612345678"], code=code)
    assert not verification_matches("5678", phones=[], code=code)
    assert verification_matches(f"{code[:4].lower()}-{code[4:]}", phones=[], code=code)
    assert not verification_matches("", phones=["+33612345678"], code=code)


def test_steps_say_what_happened_never_who() -> None:
    events = [TicketEvent(ticket_id=1, kind=k, data=d, created_at=AT) for k, d in [
        ("created", {}), ("routing", {}), ("assigned", {"agent_id": 3}), ("moved", {"agent_id": 4}),
        ("message_out", {}), ("note", {}), ("status_changed", {"to": "pending"}),
        ("status_changed", {"to": "resolved"})]]
    assert [s.kind for s in steps_from_events(events)] == ["received", "assigned", "answered", "waiting", "resolved"]
