"""The reception worklist: every conversation that needs a person, and what staff did about it.

An item is not a row of its own. The reasons a person is needed already have their home in
the history - a hand-off (with its reason: emergency, cancel, not understood, ...), a booking
whose answer was lost (status "unconfirmed") or that the booking system refused, a
conversation that ended "abandoned" part-way through a booking or was cut off when the app
stopped - so the worklist reads them from there. Only what staff do about an item is stored
(`WorklistAction`: notes, done, reopened, and the verdict on a lost booking), keyed by the
conversation, so an item's id is its conversation's id. Nothing can go out of step: an item
exists as soon as the row that needs a person is written (by this process or another one on
the same file), retention and "forget" blank its details with the conversation's, and the
items of databases older than the worklist appear without a data migration.

What staff do is kept in memory on a full disk, like the engine's writes (`history.spool`), and
written when there is room: the items read meanwhile show it already (`StaffAction.kept`), so
an item marked done stays done on the screen and cannot be marked done twice.

What was understood is the booking card the dialog passed with the hand-off or the end of the
conversation (`BookingCard`; for conversations older than schema v5, read from their summaries
when the database was migrated), with the details of the booking tried, when there is one, over
it: that is what was sent to Vetstoria."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from petvisor_desktop.card import CARD_KEYS
from petvisor_desktop.history.database import DatabaseAccess
from petvisor_desktop.history.errors import RecordNotFound
from petvisor_desktop.history.models import (
    Booking,
    BookingCard,
    Conversation,
    Handoff,
    ToolCall,
    Turn,
    WorklistAction,
)
from petvisor_desktop.history.queries import _booking_record, card_from_row
from petvisor_desktop.history.records import (
    END_REASON_INTERRUPTED,
    STAFF_ACTIONS,
    WORKLIST_REASONS,
    BookingRecord,
    StaffAction,
    WorklistItem,
)
from petvisor_desktop.history.spool import Spooling, spooled
from petvisor_desktop.history.values import _check_choice, _dt, _now, _opt_dt, _ts

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 2000
VERDICTS = ("found_in_vetstoria", "not_booked")
_VERDICT_STATUS = {"found_in_vetstoria": "confirmed", "not_booked": "failed"}  # the booking's
# A conversation that ended without a booking after one of these calls failed had its
# booking refused or could not search for times: the caller still needs one.
_VETSTORIA_CALLS = ("check_availability", "place_booking")
_NOT_A_FAILURE = ("ok", "rules", "rejected", "slot_taken")
_ENDED_UNBOOKED = ("no_booking", "abandoned", "error")


def card_from_booking(booking: BookingRecord) -> dict[str, str | None]:
    """The card of a recorded booking (its slot read in the clinic's offset, as stored)."""
    day = at = None
    if booking.slot_start:
        try:
            moment = datetime.fromisoformat(booking.slot_start)
            day, at = moment.date().isoformat(), moment.strftime("%H:%M")
        except ValueError:
            day = booking.slot_start
    owner = " ".join(p for p in (booking.owner_first_name, booking.owner_last_name) if p)
    return {
        **dict.fromkeys(CARD_KEYS),
        "species": booking.species,
        "appointment_type": booking.appointment_type,
        "clinician": booking.clinician,
        "date": day,
        "time": at,
        "pet_name": booking.pet_name,
        "client_name": owner or None,
        "phone": booking.phone,
        "email": booking.email,
    }


class Worklist(Spooling):
    """The worklist part of `History`: reading items and recording what staff did."""

    # ---- reading ---------------------------------------------------------------------------

    def worklist(self, *, open_only: bool = False, limit: int | None = None) -> list[WorklistItem]:
        """The items, the most recently raised first (`open_only`: not yet done)."""
        if limit is not None and limit < 1:
            raise ValueError("limit must be 1 or more")
        with self._read():
            ids = self._candidates()
            if open_only:  # done items are most of them, after a while: leave them out early
                closed = self._closed_ids() - set(self._kept_actions())  # kept: maybe reopened
                ids = [i for i in ids if i not in closed]
            items = self._items(ids)
        if open_only:
            items = [i for i in items if i.is_open]
        items.sort(key=lambda i: (i.raised_at, i.id), reverse=True)
        return items[:limit] if limit is not None else items

    def worklist_item(self, item_id: int) -> WorklistItem | None:
        """One item; None when that conversation needs no person (or does not exist)."""
        with self._read():
            items = self._items([item_id])
        return items[0] if items else None

    def worklist_ids(self, *, open_only: bool = False) -> list[int]:
        """The ids of the items (their conversations), for filtering the history."""
        return [item.id for item in self.worklist(open_only=open_only)]

    def worklist_stamp(self) -> tuple[Any, ...]:
        """A cheap fingerprint of everything an item is read from: when it has not changed,
        neither has the worklist (a screen that polls reads the items only on a change)."""
        query = pw.SQL(
            "SELECT (SELECT MAX(id) FROM handoff), (SELECT MAX(id) FROM booking),"
            " (SELECT MAX(updated_at) FROM booking),"
            " (SELECT COUNT(ended_at) FROM conversation),"
            " (SELECT MAX(redacted_at) FROM conversation),"
            " (SELECT MAX(id) FROM worklist_action)"
        )
        self._ensure_open()
        row = self._db.execute(query).fetchone()
        return tuple(row)

    def _closed_ids(self) -> set[int]:
        """Conversations whose last done-or-reopened action is "done"."""
        last = (
            WorklistAction.select(pw.fn.MAX(WorklistAction.id))
            .where(WorklistAction.action.in_(("done", "reopened")))
            .group_by(WorklistAction.conversation)
        )
        rows: pw.Select = WorklistAction.select(WorklistAction.conversation).where(
            WorklistAction.id.in_(last) & (WorklistAction.action == "done")
        )
        return {int(row[0]) for row in rows.tuples().bind(self._db)}

    def _candidates(self) -> list[int]:
        """Conversations that may need a person; `_items` decides."""
        failed_call = (
            ToolCall.select(ToolCall.conversation)
            .join(Conversation)
            .where(
                Conversation.outcome.in_(_ENDED_UNBOOKED)
                & ToolCall.name.in_(_VETSTORIA_CALLS)
                & ToolCall.status.not_in(_NOT_A_FAILURE)
            )
        )
        sources: list[pw.Select] = [
            Handoff.select(Handoff.conversation),
            Booking.select(Booking.conversation).where(
                Booking.status.in_(("unconfirmed", "failed"))
            ),
            Conversation.select(Conversation.id).where(Conversation.outcome == "abandoned"),
            failed_call,
            WorklistAction.select(WorklistAction.conversation),
        ]
        ids: set[int] = set()
        for source in sources:
            ids.update(int(row[0]) for row in source.tuples().bind(self._db))
        return sorted(ids)

    def _items(self, ids: Sequence[int], *, kept: bool = True) -> list[WorklistItem]:
        """The items among these conversations (call inside a transaction), with what staff
        did that is still kept in memory on a full disk (unless `kept` is False: as the file
        has them)."""
        if not ids:
            return []
        rows = {
            r.id: r for r in Conversation.select().where(Conversation.id.in_(ids)).bind(self._db)
        }
        handoffs = _grouped(
            Handoff.select()
            .where(Handoff.conversation.in_(ids))
            .order_by(Handoff.id)
            .bind(self._db)
        )
        bookings = _grouped(
            Booking.select()
            .where(Booking.conversation.in_(ids))
            .order_by(Booking.id)
            .bind(self._db)
        )
        actions = _grouped(
            WorklistAction.select()
            .where(WorklistAction.conversation.in_(ids))
            .order_by(WorklistAction.id)
            .bind(self._db)
        )
        failed: pw.Select = ToolCall.select(ToolCall.conversation).where(
            ToolCall.conversation.in_(ids)
            & ToolCall.name.in_(_VETSTORIA_CALLS)
            & ToolCall.status.not_in(_NOT_A_FAILURE)
        )
        failed_calls = {int(row[0]) for row in failed.tuples().bind(self._db)}
        said = _last_caller_words(self._db, ids)
        cards = {
            c.conversation_id: c
            for c in BookingCard.select().where(BookingCard.conversation.in_(ids)).bind(self._db)
        }
        waiting = self._kept_actions() if kept else {}
        items = []
        for cid in ids:
            row = rows.get(cid)
            if row is None:
                continue
            booked = [_booking_record(b) for b in bookings.get(cid, [])]
            done = [_action(a) for a in actions.get(cid, [])]
            for action in waiting.get(cid, []):  # as `_record_action` will write them
                if action.action in VERDICTS:
                    booked = _with_verdict(booked, action.action)
                done.append(action)
            item = _item(
                row,
                handoffs.get(cid, []),
                booked,
                done,
                cid in failed_calls,
                said.get(cid),
                cards.get(cid),
            )
            if item is not None:
                items.append(item)
        return items

    # ---- what staff do -----------------------------------------------------------------------

    def mark_done(self, item_id: int, staff: str, note: str | None = None) -> WorklistItem:
        """Close an item, recording who and when (and a last note, if given)."""
        return self._act(item_id, "done", staff, note)

    def reopen(self, item_id: int, staff: str, note: str | None = None) -> WorklistItem:
        """Open a done item again (marked done by mistake, or the caller came back)."""
        return self._act(item_id, "reopened", staff, note)

    def add_note(self, item_id: int, staff: str, note: str) -> WorklistItem:
        """A note on an item (open or done): what was tried, what the caller said."""
        if not isinstance(note, str) or not note.strip():
            raise ValueError("a note needs some text")
        return self._act(item_id, "note", staff, note)

    def settle_booking(self, item_id: int, found: bool, staff: str) -> WorklistItem:
        """Staff's verdict on a booking whose answer was lost: found in Vetstoria (the booking
        becomes confirmed) or not booked (it becomes failed). The item stays open until it is
        marked done: the caller was promised a call either way."""
        return self._act(item_id, "found_in_vetstoria" if found else "not_booked", staff, None)

    def mark_done_before(self, moment: datetime, staff: str) -> list[int]:
        """Close every open item raised before `moment` (items older than the worklist that
        were dealt with before it existed); returns their ids."""
        closed = []
        for item in self.worklist(open_only=True):
            if item.raised_at < moment:
                self.mark_done(item.id, staff, None)
                closed.append(item.id)
        return closed

    def _act(self, item_id: int, action: str, staff: str, note: str | None) -> WorklistItem:
        """Check the action against the item as staff see it (with what is kept), record
        it, and return the item with it: written, or kept (`StaffAction.kept`) while the
        disk is full."""
        _check_choice("worklist action", action, STAFF_ACTIONS)
        who = _check_staff(staff)
        text = _check_note(note)
        _check_allowed(self._item_or_raise(item_id), action)
        self._record_action(item_id, action, who, text)
        # Neither who nor the note: the log holds no personal data.
        log.info("worklist item %d: %s", item_id, action)
        return self._item_or_raise(item_id)

    def _item_or_raise(self, item_id: int) -> WorklistItem:
        with self._read():
            found = self._items([item_id])
            if not found:
                raise RecordNotFound(_not_an_item(self, item_id))
        return found[0]

    @spooled(new_row=False)
    def _record_action(self, item_id: int, action: str, who: str, text: str | None) -> None:
        """Write one staff action; kept in memory while the disk is full. Checked again
        against the file in its own transaction: another process may have acted meanwhile
        (a kept action that no longer fits is dropped, and the log says so)."""
        with self._write():
            found = self._items([item_id], kept=False)
            if not found:
                raise RecordNotFound(_not_an_item(self, item_id))
            item = found[0]
            _check_allowed(item, action)
            if action in VERDICTS:
                booking = _booking_to_check(item)
                assert booking is not None  # _check_allowed made sure
                # The verdict and the booking's new status are one fact: written together.
                Booking.update(status=_VERDICT_STATUS[action], updated_at=_ts(_now())).where(
                    Booking.id == booking.id
                ).execute(self._db)
            WorklistAction.insert(
                conversation=item_id,
                action=action,
                staff=who,
                note=text,
                created_at=_ts(_now()),
            ).execute(self._db)

    def _kept_actions(self) -> dict[int, list[StaffAction]]:
        """Staff actions waiting in memory for room on the disk, by item, oldest first."""
        kept: dict[int, list[StaffAction]] = {}
        for n, (call, asked) in enumerate(self._waiting(Worklist._record_action.__name__)):
            item_id = int(call.arguments["item_id"])
            kept.setdefault(item_id, []).append(
                StaffAction(
                    id=-(n + 1),
                    item_id=item_id,
                    action=call.arguments["action"],
                    staff=call.arguments["who"],
                    note=call.arguments["text"],
                    created_at=asked,
                    kept=True,
                )
            )
        return kept


# ---- building an item ------------------------------------------------------------------------


def _grouped(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.conversation_id, []).append(row)
    return grouped


def _action(row: WorklistAction) -> StaffAction:
    return StaffAction(
        id=row.id,
        item_id=row.conversation_id,
        action=row.action,
        staff=row.staff,
        note=row.note,
        created_at=_dt(row.created_at),
    )


def _last_caller_words(db: pw.Database, ids: Sequence[int]) -> dict[int, str]:
    last = (
        Turn.select(pw.fn.MAX(Turn.id))
        .where(Turn.conversation.in_(ids) & (Turn.role == "caller") & (Turn.text != ""))
        .group_by(Turn.conversation)
    )
    rows: pw.Select = Turn.select(Turn.conversation, Turn.text).where(Turn.id.in_(last))
    return {int(cid): str(text) for cid, text in rows.tuples().bind(db)}


def _item(
    row: Conversation,
    handoffs: list[Handoff],
    bookings: list[BookingRecord],
    actions: list[StaffAction],
    vetstoria_failed: bool,
    caller_said: str | None,
    understood: BookingCard | None,
) -> WorklistItem | None:
    reasons: list[str] = []
    detail = None
    raised: list[datetime] = []
    for h in handoffs:
        raised.append(_dt(h.created_at))
        if h.reason.startswith("unconfirmed"):  # "unconfirmed booking: staff to check"
            reasons.append("unconfirmed")
        elif h.reason in WORKLIST_REASONS:
            reasons.append(h.reason)
        else:
            reasons.append("handoff")
            detail = h.reason or detail
    verdicts = [a for a in actions if a.action in VERDICTS]
    unconfirmed = [b for b in bookings if b.status == "unconfirmed"]
    if unconfirmed or verdicts:
        reasons.append("unconfirmed")
        raised += [b.created_at for b in unconfirmed]
    ended = _opt_dt(row.ended_at)
    booked = any(b.status == "confirmed" for b in bookings) or row.outcome == "booked"
    failed = any(b.status == "failed" for b in bookings) or vetstoria_failed
    if failed and not booked and row.outcome in _ENDED_UNBOOKED and not verdicts:
        reasons.append("booking_failed")
    booking = _booking_shown(bookings)
    card = card_from_row(understood)
    if booking is not None:
        card.update({k: v for k, v in card_from_booking(booking).items() if v})
    if row.outcome == "abandoned":
        if row.end_reason == END_REASON_INTERRUPTED:
            reasons.append("interrupted")
        elif any(card.values()):  # a booking had been started: somebody left part-way
            reasons.append("abandoned")
    if not reasons and actions:
        reasons.append("handoff")  # acted on, then its reason was blanked (retention)
    if not reasons:
        return None
    order = {reason: i for i, reason in enumerate(WORKLIST_REASONS)}
    reasons = sorted(dict.fromkeys(reasons), key=order.__getitem__)
    done_at = done_by = None
    for action in actions:
        if action.action == "done":
            done_at, done_by = action.created_at, action.staff
        elif action.action == "reopened":
            done_at = done_by = None
    contact = next((h.contact for h in reversed(handoffs) if h.contact), None)
    return WorklistItem(
        id=row.id,
        reasons=tuple(reasons),
        detail=detail,
        raised_at=min(raised) if raised else ended or _dt(row.started_at),
        mode=row.mode,
        card=card,
        phone=card.get("phone") or contact,
        email=card.get("email"),
        caller_said=caller_said,
        booking=booking,
        verdict=verdicts[-1].action if verdicts else None,
        done_at=done_at,
        done_by=done_by,
        actions=tuple(actions),
        redacted=row.redacted_at is not None,
    )


def _booking_shown(bookings: Sequence[BookingRecord]) -> BookingRecord | None:
    """The booking an item shows: the last one whose answer was lost (the one to check),
    else the last one tried."""
    to_show = [b for b in bookings if b.status == "unconfirmed"] or bookings
    return to_show[-1] if to_show else None


def _with_verdict(bookings: list[BookingRecord], verdict: str) -> list[BookingRecord]:
    """The bookings as they will be once a kept verdict is written (see `_record_action`)."""
    shown = _booking_shown(bookings)
    status = _VERDICT_STATUS[verdict]
    return [dataclasses.replace(b, status=status) if b is shown else b for b in bookings]


def _booking_to_check(item: WorklistItem) -> BookingRecord | None:
    if "unconfirmed" not in item.reasons or item.booking is None:
        return None
    return item.booking


def _check_allowed(item: WorklistItem, action: str) -> None:
    if action == "done" and not item.is_open:
        raise ValueError(f"worklist item {item.id} is already done (by {item.done_by})")
    if action == "reopened" and item.is_open:
        raise ValueError(f"worklist item {item.id} is open already")
    if action in VERDICTS and _booking_to_check(item) is None:
        raise ValueError(
            f"worklist item {item.id} has no booking to check in Vetstoria; "
            "'found in Vetstoria' and 'not booked' are for bookings whose answer was lost"
        )


def _check_staff(staff: object) -> str:
    if not isinstance(staff, str) or not staff.strip():
        raise ValueError("say who you are: a staff member's name or e-mail is recorded")
    return " ".join(staff.split())[:200]


def _check_note(note: object) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise ValueError("a note must be text")
    text = note.strip()
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"a note can be at most {MAX_NOTE_CHARS} characters; got {len(text)}")
    return text or None


def _not_an_item(access: DatabaseAccess, item_id: int) -> str:
    exists = Conversation.select().where(Conversation.id == item_id).exists(access._db)
    if not exists:
        return f"there is no conversation {item_id}, so no worklist item {item_id}"
    return f"conversation {item_id} is not on the worklist: nothing in it needs a person"
