"""/supervisor/stats and its CSV through HTTP: the satisfaction barometer (by category, channel,
team, month) beside the other charts, and days counted in the administration's time zone."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from crm.models import Ticket
from replies.survey import record_answer
from tests.conftest import Stack

CLAIRE = "claire.dubois@demo.guichet.fr"


async def _ticket_ids(stack: Stack, references: list[str]) -> list[int]:
    async with stack.session() as session:
        rows = (await session.exec(select(Ticket).where(Ticket.reference.in_(references)))).all()
        by_reference = {t.reference: t.id for t in rows}
    return [by_reference[r] for r in references]


async def test_the_statistics_show_the_satisfaction_barometer_and_export_it(stack: Stack) -> None:
    references = [(await stack.post_request(email=f"b{n}@example.org", category=category))["reference"]
                  for n, category in enumerate(("etat_civil", "etat_civil", "voirie"))]
    await stack.drain()
    await stack.sign_in(CLAIRE)
    empty = (await stack.client.get("/supervisor/stats?lang=en")).text
    assert "No answer to the satisfaction survey during the period." in empty
    ids = await _ticket_ids(stack, references)
    async with stack.session() as session:
        for ticket_id, score in zip(ids, (5, 4, 2)):
            await record_answer(session, ticket_id, score, channel="email")
        await session.commit()

    page = (await stack.client.get("/supervisor/stats?lang=en")).text
    assert 'id="satisfaction-category-title"' in page and 'id="satisfaction-month-title"' in page
    assert "3 answer(s) to the survey during the period, mean score 3.67 out of 5." in page
    # etat_civil: 5 and 4 -> mean 4.5 of 2 answers, drawn 4.5/5 of the 360-px scale; the table says the same.
    assert '<text x="0" y="19">etat_civil</text>' in page and 'width="324.0"' in page and "4.5 / 5 (2)" in page
    assert "<th scope=\"row\">Web form</th>" in page  # channels by name, not by code

    csv = (await stack.client.get("/supervisor/stats.csv")).text.splitlines()
    assert "satisfaction,all/count,3" in csv and "satisfaction,all/mean,3.67" in csv
    assert "satisfaction_category,etat_civil/mean,4.50" in csv and "satisfaction_category,voirie/score_2,1" in csv
    assert "satisfaction_channel,webform/count,3" in csv
    assert any(row.startswith("satisfaction_month,") and row.endswith("/count,3") for row in csv)
    assert any(row.startswith("satisfaction_team,") for row in csv)

    # Answers outside the range are not counted.
    old = (await stack.client.get("/supervisor/stats.csv?start=2000-01-01&end=2000-01-31")).text
    assert "satisfaction" not in old


async def test_days_are_counted_in_the_administrations_time_zone(stack: Stack) -> None:
    """Paris is UTC+1 in March: 23:30 UTC on the 9th is 00:30 on the 10th there, and 22:59 UTC
    is still the 9th."""
    references = [(await stack.post_request(email=f"m{n}@example.org"))["reference"] for n in range(2)]
    await stack.drain()
    late, early = await _ticket_ids(stack, references)
    async with stack.session() as session:
        for ticket_id, moment in ((late, datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)),
                                  (early, datetime(2026, 3, 9, 22, 59, tzinfo=timezone.utc))):
            ticket = await session.get(Ticket, ticket_id)
            ticket.created_at = moment
        await session.commit()
    await stack.sign_in(CLAIRE)
    csv = (await stack.client.get("/supervisor/stats.csv?start=2026-03-09&end=2026-03-10")).text.splitlines()
    assert "day,2026-03-09,1" in csv and "day,2026-03-10,1" in csv, csv
    assert "summary,tickets,2" in csv
    only_tenth = (await stack.client.get("/supervisor/stats.csv?start=2026-03-10&end=2026-03-10")).text
    assert "day,2026-03-10,1" in only_tenth.splitlines() and "summary,tickets,1" in only_tenth


async def test_an_answer_at_midnight_counts_in_the_local_month(stack: Stack) -> None:
    """31 March 22:30 UTC is 1 April 00:30 in Paris (UTC+2): the April column of the barometer."""
    reference = (await stack.post_request(email="month@example.org"))["reference"]
    await stack.drain()
    [ticket_id] = await _ticket_ids(stack, [reference])
    async with stack.session() as session:
        answer = await record_answer(session, ticket_id, 3, channel="email")
        answer.answered_at = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)
        await session.commit()
    await stack.sign_in(CLAIRE)
    csv = (await stack.client.get("/supervisor/stats.csv?start=2026-04-01&end=2026-04-01")).text.splitlines()
    assert "satisfaction_month,2026-04/count,1" in csv, csv
    march = (await stack.client.get("/supervisor/stats.csv?start=2026-03-31&end=2026-03-31")).text
    assert "satisfaction" not in march
