"""Merging two records of one citizen, and undoing it exactly.

A merge moves everything of the merged citizen (contact points, tickets, messages) to the
survivor, fills the survivor's empty fields, keeps every conflicting value in
`survivor.alternates`, and leaves the merged citizen as a tombstone (`merged_into_id`) that
lookups follow. `CitizenMerge.snapshot` records what changed, by row id, so that `unmerge`
puts back exactly what was there. Identity keys stay on the tombstone (the resolver follows it).

Duplicate pairs: the open pair between the two becomes `merged`. The merged citizen's open
or `different` pairs with third parties are re-pointed to the survivor when the survivor has
no pair with that third party yet (an agent's "different" then still holds for the survivor);
otherwise they stay on the tombstone, where the queue no longer shows them. Both are
recorded and undone by `unmerge`.

Rows are locked in ascending citizen id (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
write transactions are serial already), so two merges of the same citizens never interleave.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.identity import follow_tombstones
from crm.models import (
    AccessRecord,
    Citizen,
    CitizenEvent,
    CitizenEventKind,
    CitizenMerge,
    ContactKind,
    ContactPoint,
    DuplicatePair,
    DuplicateStatus,
    EventKind,
    Message,
    Ticket,
)
from crm.tickets import record_event

# The citizen's own fields a merge reconciles; `alternates` keeps the values that lost.
MERGED_FIELDS = ("full_name", "first_name", "last_name", "birth_date", "address", "postcode", "city",
                 "language", "external_id")
MAX_ID = 2**31 - 1  # integer primary keys: a larger id names nothing (and must not reach the driver)


def check_id(value: int, what: str) -> int:
    """An id that can exist, or NotFound (not a driver error on PostgreSQL's int4)."""
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no {what} with this id", fields={f"{what}_id": f"no {what} with this id"})
    return value


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required", fields={"reason": "required, not empty"})
    return reason[:1000]


def _actor_type(actor_id: int | None) -> str:
    return "agent" if actor_id is not None else "system"


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _field_value(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field == "birth_date":
        return date.fromisoformat(value)
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return a == b


async def lock_citizens(session: AsyncSession, ids: list[int]) -> dict[int, Citizen]:
    """These citizens, locked until commit in ascending id (no deadlock), re-read from the database."""
    rows = (
        await session.exec(
            select(Citizen).where(col(Citizen.id).in_(sorted(set(ids)))).order_by(col(Citizen.id))
            .with_for_update().execution_options(populate_existing=True)
        )
    ).all()
    return {row.id: row for row in rows}


async def _citizen(session: AsyncSession, citizen_id: int, what: str) -> Citizen:
    citizen = await session.get(Citizen, check_id(citizen_id, "citizen"))
    if citizen is None:
        raise NotFound("no citizen with this id", fields={what: "no citizen with this id"})
    return citizen


async def _verified_national_ids(session: AsyncSession, citizen_id: int) -> set[str]:
    return set(
        (
            await session.exec(
                select(ContactPoint.value).where(
                    ContactPoint.citizen_id == citizen_id, ContactPoint.kind == ContactKind.NATIONAL_ID.value,
                    col(ContactPoint.verified).is_(True))
            )
        ).all()
    )


def _contact_row(point: ContactPoint) -> dict[str, Any]:
    return {"id": point.id, "kind": point.kind, "value": point.value, "raw_value": point.raw_value,
            "verified": point.verified, "created_at": point.created_at.isoformat()}


def _pair_row(pair: DuplicatePair) -> dict[str, Any]:
    return {"id": pair.id, "citizen_a_id": pair.citizen_a_id, "citizen_b_id": pair.citizen_b_id,
            "status": pair.status, "decided_by": pair.decided_by,
            "decided_at": pair.decided_at.isoformat() if pair.decided_at else None}


def ordered(a_id: int, b_id: int) -> tuple[int, int]:
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


async def _move_contact_points(session: AsyncSession, survivor: Citizen, merged: Citizen) -> dict[str, Any]:
    """Moves the merged citizen's contact points; one the survivor already has is deleted (kept in
    the snapshot) and its verified flag, if set, passes to the survivor's."""
    theirs = (await session.exec(select(ContactPoint).where(ContactPoint.citizen_id == merged.id)
                                 .order_by(col(ContactPoint.id)))).all()
    ours = {(p.kind, p.value): p for p in (await session.exec(
        select(ContactPoint).where(ContactPoint.citizen_id == survivor.id))).all()}
    moved, deleted, verified = [], [], []
    for point in theirs:
        same = ours.get((point.kind, point.value))
        if same is None:
            moved.append(point)
            continue
        deleted.append(_contact_row(point))
        if point.verified and not same.verified:
            verified.append({"id": same.id, "verified": same.verified})
            same.verified = True
        await session.delete(point)
    await session.flush()  # the deletes first: the moves below would break (citizen, kind, value)
    for point in moved:
        point.citizen_id = survivor.id
    return {"contact_points_moved": [p.id for p in moved], "contact_points_deleted": deleted,
            "contact_points_verified": verified}


def _reconcile_fields(survivor: Citizen, merged: Citizen) -> dict[str, Any]:
    """Empty fields of the survivor take the merged citizen's values; conflicting ones (and the
    merged citizen's own alternates) are appended to the survivor's alternates."""
    filled: dict[str, Any] = {}
    added: list[dict[str, Any]] = []
    alternates = list(survivor.alternates or [])

    def keep(entry: dict[str, Any]) -> None:
        if not any(a.get("field") == entry["field"] and a.get("value") == entry["value"] for a in alternates):
            alternates.append(entry)
            added.append(entry)

    for field in MERGED_FIELDS:
        ours, theirs = getattr(survivor, field), getattr(merged, field)
        if _empty(theirs):
            continue
        if _empty(ours):
            filled[field] = {"before": _json_value(ours), "after": _json_value(theirs)}
            setattr(survivor, field, theirs)
        elif not _same(ours, theirs):
            keep({"field": field, "value": _json_value(theirs), "from_citizen_id": merged.id})
    for entry in merged.alternates or []:
        keep(dict(entry))
    if added:
        survivor.alternates = alternates
    return {"fields_filled": filled, "alternates_added": added}


async def _repoint_pairs(session: AsyncSession, survivor: Citizen, merged: Citizen, *, actor_id: int | None,
                         now: datetime) -> dict[str, Any]:
    pairs = (await session.exec(
        select(DuplicatePair).where(or_(DuplicatePair.citizen_a_id == merged.id,
                                        DuplicatePair.citizen_b_id == merged.id))
        .order_by(col(DuplicatePair.id)).with_for_update())).all()
    survivor_pairs = {(p.citizen_a_id, p.citizen_b_id) for p in (await session.exec(
        select(DuplicatePair).where(or_(DuplicatePair.citizen_a_id == survivor.id,
                                        DuplicatePair.citizen_b_id == survivor.id)))).all()}
    decided, repointed = [], []
    for pair in pairs:
        other = pair.citizen_b_id if pair.citizen_a_id == merged.id else pair.citizen_a_id
        if other == survivor.id:
            if pair.status == DuplicateStatus.OPEN.value:
                decided.append(_pair_row(pair))
                pair.status, pair.decided_by, pair.decided_at = DuplicateStatus.MERGED.value, actor_id, now
            continue
        if pair.status == DuplicateStatus.MERGED.value:
            continue  # history of an earlier merge
        slot = ordered(survivor.id, other)
        if slot in survivor_pairs:
            continue  # the survivor already has its own pair with them: this one stays on the tombstone
        repointed.append(_pair_row(pair))
        survivor_pairs.add(slot)
        pair.citizen_a_id, pair.citizen_b_id = slot
    return {"pairs_decided": decided, "pairs_repointed": repointed}


async def merge_citizens(session: AsyncSession, *, survivor_id: int, merged_id: int, actor_id: int | None,
                         reason: str) -> CitizenMerge:
    """Merge `merged_id` into `survivor_id` (see the module's docstring); refused (Conflict) for a
    tombstone, two records already merged, or two different verified identity numbers."""
    reason = check_reason(reason)
    if survivor_id == merged_id:
        raise InvalidInput("a citizen cannot be merged with itself", fields={"other_id": "the same citizen"})
    survivor = await _citizen(session, survivor_id, "survivor_id")
    merged = await _citizen(session, merged_id, "merged_id")
    if (await follow_tombstones(session, survivor)).id == (await follow_tombstones(session, merged)).id:
        raise Conflict("these two records are already merged")
    locked = await lock_citizens(session, [survivor_id, merged_id])
    survivor, merged = locked[survivor_id], locked[merged_id]
    for citizen in (survivor, merged):
        if citizen.merged_into_id is not None:
            raise Conflict(f"citizen {citizen.id} was merged into citizen {citizen.merged_into_id}: "
                           f"merge with that one", fields={"citizen_id": str(citizen.id)})
    ours, theirs = (await _verified_national_ids(session, survivor.id),
                    await _verified_national_ids(session, merged.id))
    if ours and theirs and ours != theirs:
        raise Conflict("both citizens have a verified identity number and they differ: "
                       "they are different people", fields={"national_id": "verified on both, different"})

    now = utcnow()
    snapshot: dict[str, Any] = {
        "survivor_updated_at": survivor.updated_at.isoformat(),
        "merged_updated_at": merged.updated_at.isoformat(),
    }
    snapshot.update(await _move_contact_points(session, survivor, merged))
    tickets = list((await session.exec(select(Ticket.id).where(Ticket.citizen_id == merged.id)
                                       .order_by(col(Ticket.id)))).all())
    messages = list((await session.exec(select(Message.id).where(Message.citizen_id == merged.id)
                                        .order_by(col(Message.id)))).all())
    if tickets:
        await session.exec(update(Ticket).where(col(Ticket.id).in_(tickets)).values(citizen_id=survivor.id))
    if messages:
        await session.exec(update(Message).where(col(Message.id).in_(messages)).values(citizen_id=survivor.id))
    snapshot["tickets"], snapshot["messages"] = tickets, messages
    snapshot.update(_reconcile_fields(survivor, merged))
    snapshot.update(await _repoint_pairs(session, survivor, merged, actor_id=actor_id, now=now))
    merged.merged_into_id = survivor.id
    survivor.updated_at = merged.updated_at = now

    merge = CitizenMerge(survivor_id=survivor.id, merged_id=merged.id, snapshot=snapshot, actor_id=actor_id,
                         reason=reason, created_at=now)
    session.add(merge)
    await session.flush()
    counts = {"merge_id": merge.id, "survivor_id": survivor.id, "merged_id": merged.id,
              "tickets": len(tickets), "messages": len(messages),
              "contact_points": len(snapshot["contact_points_moved"]) + len(snapshot["contact_points_deleted"]),
              "alternates": len(snapshot["alternates_added"])}
    await _record(session, merge, undone=False, actor_id=actor_id, reason=reason, data=counts)
    return merge


async def _record(session: AsyncSession, merge: CitizenMerge, *, undone: bool, actor_id: int | None, reason: str,
                  data: dict[str, Any]) -> None:
    """The merge (or its undoing) on both citizens' timelines, on each moved ticket's, and in the audit trail."""
    survivor_id, merged_id = merge.survivor_id, merge.merged_id
    kinds = ((CitizenEventKind.UNMERGED, CitizenEventKind.UNMERGED) if undone
             else (CitizenEventKind.MERGED, CitizenEventKind.MERGED_INTO))
    session.add_all([
        CitizenEvent(citizen_id=citizen_id, kind=kind.value, actor_type=_actor_type(actor_id), actor_id=actor_id,
                     reason=reason, data=data)
        for citizen_id, kind in zip((survivor_id, merged_id), kinds, strict=True)
    ])
    owner, text = ((merged_id, f"this ticket belongs to citizen {merged_id} again (merge {merge.id} undone)")
                   if undone else
                   (survivor_id, f"this ticket now belongs to citizen {survivor_id} "
                                 f"(citizen {merged_id} was merged into it)"))
    for ticket_id in merge.snapshot["tickets"]:
        await record_event(session, ticket_id, EventKind.NOTE, reason=reason, actor_type=_actor_type(actor_id),
                           actor_id=actor_id, data={"text": text, "merge_id": merge.id, "citizen_id": owner})
    session.add_all([AccessRecord(agent_id=actor_id, action="unmerge" if undone else "merge",
                                  subject_type="citizen", subject_id=i) for i in (survivor_id, merged_id)])
    await session.flush()


async def get_merge(session: AsyncSession, merge_id: int) -> CitizenMerge:
    merge = await session.get(CitizenMerge, check_id(merge_id, "merge"))
    if merge is None:
        raise NotFound("no merge with this id", fields={"merge_id": "no merge with this id"})
    return merge


async def unmerge(session: AsyncSession, *, merge_id: int, actor_id: int | None, reason: str) -> CitizenMerge:
    """Put back exactly what the merge changed; refused (Conflict) when it was undone already, or
    while a later merge of either citizen is still in place (undo that one first)."""
    reason = check_reason(reason)
    merge = await get_merge(session, merge_id)
    locked = await lock_citizens(session, [merge.survivor_id, merge.merged_id])
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    merge = (await session.exec(select(CitizenMerge).where(CitizenMerge.id == merge.id).with_for_update()
                                .execution_options(populate_existing=True))).one()
    if merge.undone_at is not None:
        raise Conflict("this merge was already undone", fields={"merge_id": str(merge.id)})
    later = (await session.exec(
        select(CitizenMerge.id).where(
            col(CitizenMerge.id) > merge.id, col(CitizenMerge.undone_at).is_(None),
            or_(col(CitizenMerge.survivor_id).in_((survivor.id, merged.id)),
                col(CitizenMerge.merged_id).in_((survivor.id, merged.id))))
        .order_by(col(CitizenMerge.id).desc()).limit(1))).first()
    if later is not None:
        raise Conflict(f"a later merge of these citizens (merge {later}) is still in place: undo it first",
                       fields={"merge_id": str(later)})
    if merged.merged_into_id != survivor.id:
        raise Conflict(f"citizen {merged.id} no longer points to citizen {survivor.id}; "
                       "an administrator must repair it", fields={"merge_id": str(merge.id)})
    snap = merge.snapshot
    now = utcnow()

    if snap["tickets"]:
        await session.exec(update(Ticket).where(col(Ticket.id).in_(snap["tickets"])).values(citizen_id=merged.id))
    if snap["messages"]:
        await session.exec(update(Message).where(col(Message.id).in_(snap["messages"]))
                           .values(citizen_id=merged.id))
    if snap["contact_points_moved"]:
        await session.exec(update(ContactPoint).where(col(ContactPoint.id).in_(snap["contact_points_moved"]))
                           .values(citizen_id=merged.id))
    for row in snap["contact_points_verified"]:
        await session.exec(update(ContactPoint).where(ContactPoint.id == row["id"]).values(verified=row["verified"]))
    session.add_all([
        ContactPoint(id=row["id"], citizen_id=merged.id, kind=row["kind"], value=row["value"],
                     raw_value=row["raw_value"], verified=row["verified"],
                     created_at=datetime.fromisoformat(row["created_at"]))
        for row in snap["contact_points_deleted"]
    ])
    for field, change in snap["fields_filled"].items():
        # Only if nobody changed it since: an agent's later correction is not undone.
        if _json_value(getattr(survivor, field)) == change["after"]:
            setattr(survivor, field, _field_value(field, change["before"]))
    if snap["alternates_added"]:
        added = snap["alternates_added"]
        survivor.alternates = [a for a in survivor.alternates or [] if a not in added]
    for row in snap["pairs_decided"] + snap["pairs_repointed"]:
        decided_at = datetime.fromisoformat(row["decided_at"]) if row["decided_at"] else None
        values: dict[str, Any] = {"citizen_a_id": row["citizen_a_id"], "citizen_b_id": row["citizen_b_id"]}
        if row in snap["pairs_decided"]:
            values.update(status=row["status"], decided_by=row["decided_by"], decided_at=decided_at)
        await session.exec(update(DuplicatePair).where(DuplicatePair.id == row["id"]).values(**values))
    merged.merged_into_id = None
    survivor.updated_at = datetime.fromisoformat(snap["survivor_updated_at"])
    merged.updated_at = datetime.fromisoformat(snap["merged_updated_at"])
    merge.undone_at, merge.undone_by = now, actor_id

    data = {"merge_id": merge.id, "survivor_id": survivor.id, "merged_id": merged.id,
            "tickets": len(snap["tickets"]), "messages": len(snap["messages"])}
    await _record(session, merge, undone=True, actor_id=actor_id, reason=reason, data=data)
    return merge


async def recent_merges(session: AsyncSession, *, limit: int = 20) -> list[CitizenMerge]:
    """The latest merges still in place, newest first (what a supervisor may want to undo)."""
    return list((await session.exec(select(CitizenMerge).where(col(CitizenMerge.undone_at).is_(None))
                                    .order_by(col(CitizenMerge.id).desc()).limit(limit))).all())
