"""Commands for the local history: `db`, `conversations`, `users`, `backup`, `restore`,
`forget` and `retention`. Each prints what it did and exits 0, or says what is wrong and
exits 1 (2 for wrong usage).

None of them repairs anything by the way: `db check` and the listings only read, and what
start-up repairs (a damaged or missing file, conversations cut off by a crash) is done on
request by `db repair`, which needs the database to itself."""

from __future__ import annotations

import argparse
import getpass
import logging
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import peewee as pw

from petvisor_desktop.history import History, backups, open_with_recovery
from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.export import to_csv, to_json
from petvisor_desktop.history.lock import in_use_message
from petvisor_desktop.history.migrations import SCHEMA_VERSION
from petvisor_desktop.history.records import OUTCOMES, RedactionCounts, VerifyResult
from petvisor_desktop.history.recovery import count_unended

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, "Settings"], int]

_RECOVER_HINT = (
    "`petvisor-desktop db repair` moves it aside and puts back the newest good backup "
    "(`petvisor-desktop restore --latest` does the same by hand)"
)


def _fail(message: str) -> int:
    print(f"petvisor-desktop: {message}", file=sys.stderr)
    return 1


def _open(settings: Settings, *, create: bool = False) -> History:
    """The configured history database. Raises HistoryError when it is missing (unless
    `create`) or unusable. A command ends at once, so nothing it writes is kept in memory on
    a full disk for later: such a write says the disk is full."""
    db_path = settings.storage.db_path
    if not create and not db_path.exists():
        raise HistoryError(
            "missing", f"there is no history database at {db_path} (create it with `db init`)"
        )
    return History.open(
        db_path,
        retention_days=settings.storage.retention_days,
        repair=False,
        keep_when_full=False,
    )


def _with_history(
    run: Callable[[History, argparse.Namespace, Settings], int], *, create: bool = False
) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        try:
            history = _open(settings, create=create)
        except HistoryError as exc:
            hint = f"; {_RECOVER_HINT}" if exc.code in ("damaged", "not_sqlite") else ""
            return _fail(f"{exc.message}{hint}")
        try:
            return run(history, args, settings)
        except HistoryError as exc:
            return _fail(exc.message)
        except (sqlite3.DatabaseError, pw.DatabaseError) as exc:
            db_path = settings.storage.db_path
            if "locked" in str(exc):  # another process kept writing past the busy timeout
                return _fail(in_use_message(db_path, "try again in a moment"))
            # Damage that opening did not touch shows up when a page is read.
            return _fail(f"{db_path} cannot be read: {exc}; {_RECOVER_HINT}")
        finally:
            history.close()

    return handler


def _local(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(settings.clinic.timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _short(text: str | None, width: int = 48) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _group(sub: Any, name: str, help_text: str) -> Any:
    """A command with its own sub-commands; on its own it prints its help."""
    parser = sub.add_parser(name, help=help_text, description=help_text)

    def show_help(_args: argparse.Namespace, _settings: Settings) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=show_help)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


def register(subparsers: Any) -> None:
    db = _group(subparsers, "db", "create, check or purge the local history database")
    p = db.add_parser("init", help="create the history database (or bring it up to date)")
    p.set_defaults(handler=_with_history(_db_init, create=True))
    p = db.add_parser(
        "check", help="check the database's integrity and schema version (only reads)"
    )
    p.add_argument("--backups", action="store_true", help="check every backup as well")
    p.set_defaults(handler=db_check)
    p = db.add_parser(
        "repair",
        help="do what start-up does: restore a damaged or missing database from the newest "
        "good backup, bring it up to date, close conversations cut off by a crash",
    )
    p.set_defaults(handler=db_repair)
    p = db.add_parser("purge", help="apply the retention policy now (same as `retention purge`)")
    p.set_defaults(handler=_with_history(_retention_purge))

    conv = _group(subparsers, "conversations", "list, show and export recorded conversations")
    p = conv.add_parser("list", help="recent conversations, newest first")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    p.add_argument("--outcome", choices=OUTCOMES, help="only conversations with this outcome")
    p.add_argument("--search", help="text in what was said, the summary or the booking")
    p.set_defaults(handler=_with_history(_conversations_list))
    p = conv.add_parser("show", help="one conversation with its bookings and tool calls")
    p.add_argument("id", type=int)
    p.set_defaults(handler=_with_history(_conversations_show))
    p = conv.add_parser("messages", help="what was said in one conversation, with timings")
    p.add_argument("id", type=int)
    p.set_defaults(handler=_with_history(_conversations_messages))
    p = conv.add_parser("export", help="one conversation as JSON or CSV")
    p.add_argument("id", type=int)
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--output", type=Path, help="write to this file instead of the screen")
    p.set_defaults(handler=_with_history(_conversations_export))

    users = _group(subparsers, "users", "staff who may open the admin screens")
    p = users.add_parser("create", help="add a staff user (asks for the PIN or password)")
    p.add_argument("email")
    p.add_argument("--name", help="display name")
    p.add_argument(
        "--pin",
        help="the PIN or password (visible to other users of this computer: prefer the prompt)",
    )
    p.set_defaults(handler=_with_history(_users_create, create=True))
    p = users.add_parser("list", help="staff users")
    p.set_defaults(handler=_with_history(_users_list))
    p = users.add_parser("verify", help="check a staff user's PIN or password")
    p.add_argument("email")
    p.add_argument("--pin", help="the PIN or password (prefer the prompt)")
    p.set_defaults(handler=_with_history(_users_verify))
    p = users.add_parser("disable", help="stop a staff user from signing in")
    p.add_argument("email")
    p.set_defaults(handler=_with_history(_users_disable))
    p = users.add_parser("enable", help="let a disabled staff user sign in again")
    p.add_argument("email")
    p.set_defaults(handler=_with_history(_users_enable))

    p = subparsers.add_parser("backup", help="back up the history database now")
    p.add_argument("--dest", type=Path, help="backup folder (default: from the settings)")
    p.add_argument("--no-rotate", action="store_true", help="keep every older backup")
    p.set_defaults(handler=backup)

    p = subparsers.add_parser("restore", help="list backups or put one back")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--list", action="store_true", help="list the backups, newest first")
    which.add_argument("--latest", action="store_true", help="restore the newest good backup")
    which.add_argument("file", nargs="?", type=Path, help="a backup file (or its name)")
    p.set_defaults(handler=restore)

    p = subparsers.add_parser(
        "forget", help="remove a caller's personal data from the history (by phone number)"
    )
    p.add_argument("--phone", required=True, help="the caller's phone number, any format")
    p.set_defaults(handler=_with_history(_forget))

    retention = _group(subparsers, "retention", "the personal-data retention policy")
    p = retention.add_parser(
        "purge", help="blank personal data older than storage.retention_days now"
    )
    p.set_defaults(handler=_with_history(_retention_purge))


# ---- db ----------------------------------------------------------------------------------


def _db_init(history: History, _args: argparse.Namespace, _settings: Settings) -> int:
    steps = ", ".join(f"v{v}" for v in history.migrated_to) or "nothing to do"
    print(f"history database: {history.db_path}")
    print(f"schema version {history.schema_version} (migrations applied: {steps})")
    if history.interrupted_at_open:
        print(f"{history.interrupted_at_open} interrupted conversation(s) marked abandoned")
    return 0


def db_check(args: argparse.Namespace, settings: Settings) -> int:
    db_path = settings.storage.db_path
    result = backups.check_database(db_path)
    status = 0
    if result.problem is None:
        version = result.schema_version or 0
        note = (
            f" (older than v{SCHEMA_VERSION}: it will be migrated when next opened)"
            if version < SCHEMA_VERSION
            else ""
        )
        print(f"ok: {db_path} passed the integrity check; schema version {version}{note}")
        unended = count_unended(db_path)
        if unended:
            print(
                f"{unended} conversation(s) have no end recorded: in progress, or cut off by a "
                "crash (`petvisor-desktop db repair` closes those while no Petvisor is running)"
            )
    else:
        status = 1
        no_hint = ("missing", "newer_schema", "disk_full")
        hint = "" if result.problem.code in no_hint else f"; {_RECOVER_HINT}"
        print(
            f"petvisor-desktop: {db_path} {result.problem.message}{hint}",
            file=sys.stderr,
        )
    if args.backups:
        try:
            found = backups.list_backups(settings.storage.backup_dir)
        except OSError as exc:
            return _fail(f"cannot read the backup folder {settings.storage.backup_dir}: {exc}")
        if not found:
            print(f"no backups in {settings.storage.backup_dir}")
        for item in found:
            checked = backups.check_database(item.path, immutable=True)
            if checked.problem is None:
                print(f"ok: backup {item.path.name}")
            else:
                status = 1
                print(f"BAD: backup {item.path.name} {checked.problem.message}")
    return status


# How long `db repair` waits for a command that briefly holds the database.
REPAIR_LOCK_WAIT_S = 2.0


def db_repair(_args: argparse.Namespace, settings: Settings) -> int:
    db_path = settings.storage.db_path
    if not db_path.exists() and not _has_backups(settings):
        return _fail(f"there is no history database at {db_path} to repair (`db init` makes one)")
    try:
        history, report = open_with_recovery(
            settings,
            lock_wait_s=REPAIR_LOCK_WAIT_S,
            what_to_do="close it first: a repair needs the database to itself",
        )
    except HistoryError as exc:
        return _fail(exc.message)
    try:
        print(report.message)
        if report.migrated_to:
            print(f"brought up to schema v{report.migrated_to[-1]}")
        print(f"{report.interrupted_conversations} conversation(s) cut off by a crash closed")
        if report.purged.total:
            _print_counts(report.purged)
    finally:
        history.close()
    return 0


def _has_backups(settings: Settings) -> bool:
    try:
        return bool(backups.list_backups(settings.storage.backup_dir))
    except OSError:
        return True  # cannot tell: let the repair say what it finds


# ---- conversations --------------------------------------------------------------------------


def _conversations_list(history: History, args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        return _fail("--limit must be 1 or more")
    found = history.conversations(limit=args.limit, outcome=args.outcome, search=args.search)
    if not found:
        print("no conversations")
        return 0
    rows = []
    for c in found:
        duration = "-" if c.duration_s is None else f"{c.duration_s:.0f}s"
        outcome = c.outcome or "in progress"
        if c.end_reason:
            outcome += f" ({c.end_reason})"
        rows.append(
            [
                str(c.id),
                _local(c.started_at, settings),
                duration,
                c.mode,
                outcome,
                "-" if c.rating is None else str(c.rating),
                str(c.turn_count),
                c.booking_status or "-",
                "(removed)" if c.redacted else _short(c.summary),
            ]
        )
    headers = ["ID", "STARTED", "LENGTH", "MODE", "OUTCOME", "RATING", "TURNS", "BOOKING"]
    print(_table([*headers, "SUMMARY"], rows))
    return 0


def _conversations_show(history: History, args: argparse.Namespace, settings: Settings) -> int:
    detail = history.conversation(args.id)
    if detail is None:
        return _fail(f"no conversation {args.id}")
    c = detail.info
    print(f"conversation {c.id}")
    print(f"  started:  {_local(c.started_at, settings)}")
    print(f"  ended:    {_local(c.ended_at, settings)}")
    print(f"  mode:     {c.mode}")
    reason = f" ({c.end_reason})" if c.end_reason else ""
    print(f"  outcome:  {c.outcome or 'in progress'}{reason}")
    print(f"  rating:   {'-' if c.rating is None else c.rating}")
    print(f"  turns:    {c.turn_count}")
    if c.redacted:
        print("  personal data removed (retention or forget)")
    if c.summary:
        print(f"  summary:  {c.summary}")
    for b in detail.bookings:
        owner = " ".join(x for x in (b.owner_first_name, b.owner_last_name) if x)
        print(f"  booking {b.id}: {b.status}")
        for label, value in (
            ("slot", b.slot_start),
            ("appointment ids", ", ".join(b.appointment_ids)),
            ("schedule/partition", f"{b.schedule_id or '-'}/{b.partition_id or '-'}"),
            ("type", b.appointment_type),
            ("species", b.species),
            ("clinician", b.clinician),
            ("pet", b.pet_name),
            ("owner", owner),
            ("phone", b.phone),
            ("email", b.email),
            ("notes", b.notes),
        ):
            if value:
                print(f"    {label}: {value}")
    for h in detail.handoffs:
        print(f"  handoff {h.id}: {h.reason or '-'}; contact: {h.contact or '-'}")
    for t in detail.tool_calls:
        took = "-" if t.duration_ms is None else f"{t.duration_ms:.0f} ms"
        print(f"  tool {t.name}: {t.status} in {took} (turn {t.turn_id or '-'})")
    return 0


_LATENCY_LABELS = {
    "end_of_turn_ms": "end of turn",
    "stt_ms": "stt",
    "think_ms": "think",
    "llm_first_token_ms": "llm first",
    "llm_total_ms": "llm",
    "tts_first_chunk_ms": "tts first",
    "response_ms": "response",
}


def _conversations_messages(history: History, args: argparse.Namespace, settings: Settings) -> int:
    messages = history.messages(args.id)
    if not messages:
        print("no messages")
    for m in messages:
        when = _local(m.started_at or m.created_at, settings)[11:]
        figures = [f"{_LATENCY_LABELS[k]} {v:.0f} ms" for k, v in m.latency().items()]
        if m.tokens_in is not None or m.tokens_out is not None:
            figures.append(f"tokens {m.tokens_in or 0}/{m.tokens_out or 0}")
        extra = f"  [{', '.join(figures)}]" if figures else ""
        text = m.text or "(removed)"
        print(f"{when} {m.role:>9}: {text}{extra}")
    return 0


def _conversations_export(history: History, args: argparse.Namespace, _settings: Settings) -> int:
    detail = history.conversation(args.id)
    if detail is None:
        return _fail(f"no conversation {args.id}")
    messages = history.messages(args.id)
    text = to_json(detail, messages) if args.format == "json" else to_csv(messages)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror}")
    print(f"conversation {args.id} written to {args.output}")
    return 0


# ---- users ---------------------------------------------------------------------------------


def _read_secret(given: str | None, *, confirm: bool) -> str:
    """The PIN from --pin, the terminal (without echo) or the first line of stdin."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        secret = getpass.getpass("PIN or password: ")
        if confirm and getpass.getpass("Again: ") != secret:
            raise ValueError("the two entries differ")
        return secret
    return sys.stdin.readline().rstrip("\r\n")


def _users_create(history: History, args: argparse.Namespace, _settings: Settings) -> int:
    try:
        secret = _read_secret(args.pin, confirm=True)
        user_id = history.create_user(args.email, secret, args.name)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"staff user {user_id} created")
    return 0


def _users_list(history: History, _args: argparse.Namespace, settings: Settings) -> int:
    found = history.users()
    if not found:
        print("no staff users")
        return 0
    rows = [
        [
            u.email,
            u.display_name or "",
            "yes" if u.is_active else "disabled",
            _local(u.created_at, settings),
            _local(u.last_verified_at, settings),
        ]
        for u in found
    ]
    print(_table(["EMAIL", "NAME", "ACTIVE", "CREATED", "LAST SIGN-IN"], rows))
    return 0


def _users_verify(history: History, args: argparse.Namespace, _settings: Settings) -> int:
    secret = _read_secret(args.pin, confirm=False)
    result = history.verify_user(args.email, secret)
    if result is VerifyResult.OK:
        print("accepted")
        return 0
    if result is VerifyResult.DISABLED:
        return _fail("the PIN is right but this staff user is disabled")
    return _fail("not accepted: wrong PIN or password, or no such staff user")


def _users_disable(history: History, args: argparse.Namespace, _settings: Settings) -> int:
    try:
        history.disable_user(args.email)
    except ValueError as exc:
        return _fail(str(exc))
    print("staff user disabled")
    return 0


def _users_enable(history: History, args: argparse.Namespace, _settings: Settings) -> int:
    try:
        history.set_user_active(args.email, True)
    except ValueError as exc:
        return _fail(str(exc))
    print("staff user enabled")
    return 0


# ---- backup and restore ------------------------------------------------------------------------


def backup(args: argparse.Namespace, settings: Settings) -> int:
    storage = settings.storage
    dest = args.dest or storage.backup_dir
    try:
        path = backups.backup_database(storage.db_path, dest)
    except HistoryError as exc:
        return _fail(exc.message)
    print(f"backed up to {path} (checked)")
    if not args.no_rotate:
        try:
            deleted = backups.rotate_backups(
                dest, storage.backups_keep_daily, storage.backups_keep_weekly
            )
        except OSError as exc:
            return _fail(f"backup written, but rotation failed: {exc}")
        if deleted:
            print(f"rotation deleted {len(deleted)} older backup(s)")
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def restore(args: argparse.Namespace, settings: Settings) -> int:
    storage = settings.storage
    try:
        found = backups.list_backups(storage.backup_dir)
    except OSError as exc:
        return _fail(f"cannot read the backup folder {storage.backup_dir}: {exc}")
    if args.list:
        if not found:
            print(f"no backups in {storage.backup_dir}")
            return 0
        rows = [[b.path.name, _local(b.taken_at, settings), _size(b.size_bytes)] for b in found]
        print(_table(["BACKUP", "TAKEN (CLINIC TIME)", "SIZE"], rows))
        return 0
    if args.latest:
        good, skipped = backups.newest_good_backup(storage.backup_dir)
        for bad in skipped:
            print(f"skipping {bad.path.name}: it failed its check", file=sys.stderr)
        if good is None:
            return _fail(f"no usable backup in {storage.backup_dir}")
        chosen = good.path
    else:
        chosen = args.file
        if not chosen.exists() and (storage.backup_dir / chosen.name).exists():
            chosen = storage.backup_dir / chosen.name
        if not chosen.exists():
            return _fail(f"no backup file {args.file}")
    try:
        result = backups.restore_backup(storage.db_path, chosen)
    except HistoryError as exc:
        return _fail(f"not restored: {exc.message}")
    print(f"restored {storage.db_path} from {result.restored_from.name}")
    if result.replaced is not None:
        print(f"the previous database was kept as {result.replaced}")
    return 0


# ---- privacy -----------------------------------------------------------------------------------


def _print_counts(counts: RedactionCounts) -> None:
    print(
        f"personal data removed from {counts.conversations} conversation(s): "
        f"{counts.turns} turn(s), {counts.tool_calls} tool call(s), {counts.bookings} "
        f"booking(s), {counts.handoffs} handoff(s)"
    )


def _forget(history: History, args: argparse.Namespace, settings: Settings) -> int:
    try:
        counts = history.forget_phone(args.phone)
    except ValueError as exc:
        return _fail(str(exc))
    _print_counts(counts)
    print(
        f"backups in {settings.storage.backup_dir} still hold older copies until rotation "
        "deletes them; Vetstoria's own client record is not changed"
    )
    return 0


def _retention_purge(history: History, _args: argparse.Namespace, _settings: Settings) -> int:
    counts = history.purge_expired()
    print(f"retention: personal data older than {history.retention_days} days")
    _print_counts(counts)
    return 0
