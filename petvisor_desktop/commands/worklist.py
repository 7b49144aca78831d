"""`petvisor-desktop worklist`: the reception worklist in a terminal, and what staff do about an
item (done, a note, reopen, and the verdict on a booking whose answer was lost).

The output holds callers' names and numbers: it is for the clinic's own staff, on the
clinic's PC. None of it goes to the log."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from petvisor_desktop import worklist as words
from petvisor_desktop.commands.db import _fail, _with_history
from petvisor_desktop.history import History, RecordNotFound

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings


def register(subparsers: Any) -> None:
    about = "the reception worklist: callers who need a person, and what was done about them"
    parser = subparsers.add_parser(
        "worklist",
        help=about,
        description=about + ". On its own it lists the items, newest first.",
    )
    parser.add_argument("--open", action="store_true", help="only the items not yet done")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    parser.set_defaults(handler=_with_history(_list))
    sub = parser.add_subparsers(dest="worklist_command", metavar="COMMAND")

    p = sub.add_parser("done", help="mark items done (who and when are recorded)")
    p.add_argument("ids", type=int, nargs="*", metavar="ID", help="the items' numbers")
    p.add_argument(
        "--before",
        metavar="DAY",
        help="instead of IDs: every open item raised before this day (YYYY-MM-DD, the "
        "clinic's time), e.g. items dealt with before the worklist existed",
    )
    p.add_argument("--note", help="a last note, e.g. what was agreed with the caller")
    _by(p)
    p.set_defaults(handler=_with_history(_done))

    p = sub.add_parser("note", help="add a note to an item")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("text", nargs="+", metavar="TEXT", help="the note")
    _by(p)
    p.set_defaults(
        handler=_with_history(_act(lambda h, a: h.add_note(a.id, a.by, " ".join(a.text))))
    )

    p = sub.add_parser("found", help="the lost booking is in Vetstoria (it becomes confirmed)")
    p.add_argument("id", type=int, metavar="ID")
    _by(p)
    p.set_defaults(handler=_with_history(_act(lambda h, a: h.settle_booking(a.id, True, a.by))))

    p = sub.add_parser("not-booked", help="the lost booking is not in Vetstoria (it failed)")
    p.add_argument("id", type=int, metavar="ID")
    _by(p)
    p.set_defaults(handler=_with_history(_act(lambda h, a: h.settle_booking(a.id, False, a.by))))

    p = sub.add_parser("reopen", help="open a done item again")
    p.add_argument("id", type=int, metavar="ID")
    _by(p)
    p.set_defaults(handler=_with_history(_act(lambda h, a: h.reopen(a.id, a.by))))


def _by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by", required=True, metavar="NAME", help="who you are (recorded with the time)"
    )


# ---- listing -----------------------------------------------------------------------------------


def _list(history: History, args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        return _fail("--limit must be 1 or more")
    items = history.worklist(open_only=args.open, limit=args.limit)
    if args.json:
        print(json.dumps([words.to_dict(i) for i in items], indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("No open items on the worklist." if args.open else "Nothing on the worklist.")
        return 0
    tz = ZoneInfo(settings.clinic.timezone)
    open_count = sum(i.is_open for i in items)
    print(f"{len(items)} item{'s' if len(items) != 1 else ''}, {open_count} open\n")
    print("\n\n".join(_block(item, tz) for item in items))
    return 0


def _block(item: Any, tz: ZoneInfo) -> str:
    """One item as a few labelled lines."""
    lines = [
        f"#{item.id}  {words.state(item, tz).upper() if item.is_open else words.state(item, tz)}"
        f"  {words.local(item.raised_at, tz)}  {words.why(item)}",
    ]

    def line(label: str, text: str | None) -> None:
        if text:
            lines.append(f"    {label + ':':<14}{text}")

    line("Caller", words.caller(item))
    line("Contact", words.contact(item))
    line("Check", words.vetstoria_check(item))
    line("Verdict", words.ACTION_WORDS.get(item.verdict or "", None))
    line("Understood", " · ".join(value for _label, value in words.understood(item, contact=False)))
    line("They said", f"“{item.caller_said}”" if item.caller_said else None)
    line("Next", words.next_step(item) if item.is_open else None)
    for action in item.actions:
        line("History", words.action_line(action, tz))
    if item.redacted:
        line("Note", "personal data removed (retention or a forget request)")
    return "\n".join(lines)


# ---- what staff do -----------------------------------------------------------------------------


def _act(
    do: Callable[[History, argparse.Namespace], Any],
) -> Callable[[History, argparse.Namespace, Settings], int]:
    def run(history: History, args: argparse.Namespace, settings: Settings) -> int:
        try:
            item = do(history, args)
        except (RecordNotFound, ValueError) as exc:
            return _fail(str(exc))
        _report(item, settings)
        return 0

    return run


def _done(history: History, args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.ids) == bool(args.before):
        return _fail("give the items' numbers, or --before DAY, to say which items are done")
    if args.before:
        tz = ZoneInfo(settings.clinic.timezone)
        try:
            day = datetime.strptime(args.before, "%Y-%m-%d").replace(tzinfo=tz)
        except ValueError:
            return _fail(
                f"--before must be a day as YYYY-MM-DD, e.g. 2026-11-23; got {args.before!r}"
            )
        try:
            closed = history.mark_done_before(day, args.by)
        except ValueError as exc:
            return _fail(str(exc))
        print(f"{len(closed)} item(s) raised before {args.before} marked done by {args.by}")
        return 0
    status = 0
    for item_id in args.ids:
        try:
            item = history.mark_done(item_id, args.by, args.note)
        except (RecordNotFound, ValueError) as exc:
            status = _fail(str(exc))
            continue
        _report(item, settings)
    return status


def _report(item: Any, settings: Settings) -> None:
    tz = ZoneInfo(settings.clinic.timezone)
    last = item.actions[-1]
    print(f"#{item.id} {words.action_line(last, tz)}")
    print(f"#{item.id} is now: {words.state(item, tz)}")
