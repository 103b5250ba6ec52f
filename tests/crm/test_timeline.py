"""The timeline's cursor and type filter on their own (pure): what a page hands out comes back
exactly, to the microsecond, and orders as the timeline does."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.errors import InvalidInput
from crm.timeline import TYPES, Cursor, decode_cursor, encode_cursor, parse_types


@pytest.mark.parametrize("cursor", [
    Cursor(datetime(2026, 3, 1, 9, 30, 0, 1, tzinfo=UTC), 2, 1),
    Cursor(datetime(1970, 1, 1, tzinfo=UTC), 0, 2**31 - 1),
    Cursor(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 1, 7),
])
def test_a_cursor_comes_back_exactly_and_stays_url_safe(cursor: Cursor) -> None:
    text = encode_cursor(cursor)
    assert decode_cursor(text) == cursor
    assert text.replace("-", "").replace("_", "").isalnum()


def test_cursors_order_by_time_then_source_then_id() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert Cursor(at, 0, 99) < Cursor(at, 1, 1) < Cursor(at, 1, 2) < Cursor(at.replace(microsecond=1), 0, 1)


def test_types_default_to_all_and_refuse_strangers() -> None:
    assert parse_types(None) == parse_types("") == parse_types(" , ") == TYPES
    assert parse_types("citizen_event, message,message") == ("citizen_event", "message")
    with pytest.raises(InvalidInput) as refused:
        parse_types("message,letters")
    assert refused.value.fields == {
        "type": "expected a comma-separated list of message, ticket_event, citizen_event"}
