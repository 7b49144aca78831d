"""The history browser: conversations with search and filters, and for the one selected its
transcript, bookings, handoffs, rating and latency figures. Every read runs in the
background; the history is safe for any number of reader threads."""

from __future__ import annotations

import html
import statistics
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from petvisor_desktop.card import filled
from ui.admin.rows_table import RowsTable
from ui.widgets import button, label
from ui.workers import run_in_background

OUTCOME_WORDS = {
    None: "In progress",
    "booked": "Booked",
    "handoff": "Handed to reception",
    "no_booking": "No booking",
    "abandoned": "Abandoned",
    "error": "Error",
}
MODE_WORDS = {
    "kiosk": "Kiosk",
    "ptt": "Window",
    "window": "Window",
    "chat": "Typed (terminal)",
    "simulate": "Simulator",
    "voice": "Voice (terminal)",
}
LATENCY_WORDS = {
    "response_ms": "response",
    "end_of_turn_ms": "end of turn",
    "stt_ms": "speech recognition",
    "think_ms": "reply worked out",
    "llm_first_token_ms": "LLM first token",
    "llm_total_ms": "LLM total",
    "tts_first_chunk_ms": "first audio",
}
# The reception worklist: conversations that need (or needed) a person.
WORKLIST_FILTERS = (
    ("All conversations", None),
    ("Worklist: open items", "open"),
    ("Worklist: all items", "all"),
)
PAGE_SIZE = 200


def _when(moment: Any) -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class ConversationTable(RowsTable):
    COLUMNS = ("Started", "Where", "Outcome", "Booking", "Turns", "Rating", "Length", "Summary")

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        info = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            column = index.column()
            if column == 0:
                return _when(info.started_at)
            if column == 1:
                return MODE_WORDS.get(info.mode, info.mode)
            if column == 2:
                return OUTCOME_WORDS.get(info.outcome, info.outcome)
            if column == 3:
                return info.booking_status or ""
            if column == 4:
                return str(info.turn_count)
            if column == 5:
                return "★" * info.rating if info.rating else ""
            if column == 6:
                return _duration(info.duration_s)
            if column == 7:
                return "(personal data removed)" if info.redacted else (info.summary or "")
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 7:
            return info.summary or ""
        return None


def _slot(text: str | None) -> str:
    """A booked slot as staff read it ("Wed 25 Nov 2026, 09:00"), in the clinic's own time
    as Vetstoria gave it."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"


def pairs_table(pairs: list[tuple[str, str]]) -> str:
    """(label, value) rows as an HTML table, escaped (the booking card's details)."""
    e = html.escape
    rows = "".join(f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>" for k, v in pairs)
    return f"<table cellspacing='0' cellpadding='3'>{rows}</table>"


def render_detail(detail: Any, messages: list[Any]) -> str:
    """The selected conversation as HTML (everything escaped: it holds callers' words)."""
    e = html.escape
    info = detail.info
    rating = f"{'★' * info.rating} ({info.rating} of 5)" if info.rating else "not rated"
    parts = [
        f"<h2>Conversation {info.id}</h2>",
        "<table cellspacing='0' cellpadding='3'>",
    ]
    for name, value in (
        ("Started", _when(info.started_at)),
        ("Ended", _when(info.ended_at) or "still running"),
        ("Length", _duration(info.duration_s)),
        ("Where", MODE_WORDS.get(info.mode, info.mode)),
        ("Outcome", OUTCOME_WORDS.get(info.outcome, info.outcome)),
        ("Rating", rating),
        ("Summary", info.summary or ""),
    ):
        parts.append(f"<tr><td><b>{e(name)}</b></td><td>{e(str(value))}</td></tr>")
    parts.append("</table>")
    if info.end_reason == "interrupted":
        parts.append("<p><b>This conversation was cut off when the app stopped.</b></p>")
    if info.redacted:
        parts.append("<p><b>Personal data was removed (retention or a forget request).</b></p>")

    understood = filled(detail.card)
    if understood:
        parts.append("<h3>What was understood</h3>" + pairs_table(understood))

    parts.append("<h3>Bookings</h3>")
    if detail.bookings:
        for b in detail.bookings:
            who = " ".join(p for p in (b.owner_first_name, b.owner_last_name) if p)
            parts.append(
                "<p>"
                f"<b>{e(b.status.title())}</b>: {e(b.appointment_type or '')} for "
                f"{e(b.pet_name or '?')} ({e(b.species or '?')}) with {e(b.clinician or '?')}, "
                f"{e(_slot(b.slot_start))}<br>"
                f"{e(who)} · {e(b.phone or '')} · {e(b.email or 'no e-mail')}"
                + (
                    f"<br>Vetstoria reference: {e(', '.join(b.appointment_ids))}"
                    if b.appointment_ids
                    else ""
                )
                + "</p>"
            )
    else:
        parts.append("<p>None.</p>")

    parts.append("<h3>Handoffs</h3>")
    if detail.handoffs:
        for h in detail.handoffs:
            contact = f" · contact: {e(h.contact)}" if h.contact else ""
            parts.append(f"<p>{e(_when(h.created_at))}: {e(h.reason)}{contact}</p>")
    else:
        parts.append("<p>None.</p>")

    responses = [m.response_ms for m in messages if m.role == "assistant" and m.response_ms]
    parts.append("<h3>Latency</h3>")
    if responses:
        parts.append(
            f"<p>Response time over {len(responses)} replies: median "
            f"<b>{statistics.median(responses):.0f} ms</b>, slowest "
            f"<b>{max(responses):.0f} ms</b>.</p>"
        )
    else:
        parts.append("<p>No figures recorded.</p>")

    parts.append("<h3>Transcript</h3>")
    for m in messages:
        who = "Assistant" if m.role == "assistant" else "Caller"
        figures = m.latency()
        timing = ""
        if figures:
            timing = (
                "<br><small>"
                + e(" · ".join(f"{LATENCY_WORDS.get(k, k)} {v:.0f} ms" for k, v in figures.items()))
                + "</small>"
            )
        asked = (
            f" <small>(asking: {e(m.expecting)})</small>"
            if m.expecting and m.expecting != "none"
            else ""
        )
        parts.append(f"<p><b>{who}:</b> {e(m.text)}{asked}{timing}</p>")
    if not messages:
        parts.append("<p>No turns recorded.</p>")
    return "\n".join(parts)


class HistoryBrowser(QWidget):
    """`history` returns the open History (or None while it is loading)."""

    def __init__(self, history: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.setObjectName("historyBrowser")
        self.loading = False
        self.selected_id: int | None = None
        self._generation = 0
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("historySearch")
        self.search.setPlaceholderText("Search names, pets, phone numbers, e-mails, words said…")
        self.search.setAccessibleName("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.outcome = QComboBox()
        self.outcome.setObjectName("historyOutcome")
        self.outcome.setAccessibleName("Filter by outcome")
        self.outcome.addItem("All outcomes", None)
        for key in ("booked", "handoff", "no_booking", "abandoned", "error"):
            self.outcome.addItem(OUTCOME_WORDS[key], key)
        self.mode = QComboBox()
        self.mode.setObjectName("historyMode")
        self.mode.setAccessibleName("Filter by where the conversation happened")
        self.mode.addItem("Everywhere", None)
        for key in ("kiosk", "ptt", "chat", "voice", "simulate"):
            self.mode.addItem(MODE_WORDS[key], key)
        self.worklist = QComboBox()
        self.worklist.setObjectName("historyWorklist")
        self.worklist.setAccessibleName("Filter by the reception worklist")
        for text, filter_key in WORKLIST_FILTERS:
            self.worklist.addItem(text, filter_key)
        self.refresh_button = button(
            "Refresh", name="historyRefresh", tip="Read the list again (F5)"
        )
        self.refresh_button.setShortcut("F5")
        filters.addWidget(label("Search", wrap=False))
        filters.addWidget(self.search, 1)
        filters.addWidget(self.outcome)
        filters.addWidget(self.mode)
        filters.addWidget(self.worklist)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)
        self.status = label("", "muted", name="historyStatus")
        layout.addWidget(self.status)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = ConversationTable()
        self.table = QTableView()
        self.table.setObjectName("historyTable")
        self.table.setAccessibleName("Conversations")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(False)
        self.detail = QTextBrowser()
        self.detail.setObjectName("historyDetail")
        self.detail.setAccessibleName("The selected conversation")
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Choose a conversation to see its transcript.")
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.outcome.currentIndexChanged.connect(lambda _i: self.reload())
        self.mode.currentIndexChanged.connect(lambda _i: self.reload())
        self.worklist.currentIndexChanged.connect(lambda _i: self.reload())
        self.refresh_button.clicked.connect(self.reload)
        self.table.selectionModel().currentRowChanged.connect(self.on_table_currentRowChanged)

    # ---- the list ------------------------------------------------------------------------

    def reload(self) -> None:
        history = self.history()
        if history is None:
            self.status.setText("The history database is not available yet; see Diagnostics.")
            return
        self._generation += 1
        generation = self._generation
        outcome = self.outcome.currentData()
        mode = self.mode.currentData()
        worklist = self.worklist.currentData()
        search = self.search.text().strip() or None
        self.loading = True
        self.status.setText("Loading…")

        def read() -> list[Any]:
            ids = None
            if worklist is not None:
                ids = history.worklist_ids(open_only=worklist == "open")
            rows = history.conversations(limit=PAGE_SIZE, outcome=outcome, search=search, ids=ids)
            return [r for r in rows if mode is None or r.mode == mode]

        run_in_background(
            read,
            on_done=lambda rows: self.on_list_loaded(generation, rows),
            on_error=self.on_load_failed,
            context=self,
        )

    def reveal(self, conversation_id: int) -> None:
        """Show one conversation (from the worklist): the list narrowed to the worklist's
        items, that one selected."""
        self.selected_id = conversation_id
        self.search.clear()
        self.outcome.setCurrentIndex(0)
        self.mode.setCurrentIndex(0)
        if self.worklist.currentData() != "all":
            self.worklist.setCurrentIndex(self.worklist.findData("all"))  # reloads
        else:
            self.reload()
        self.show_conversation(conversation_id)

    def on_list_loaded(self, generation: int, rows: list[Any]) -> None:
        if generation != self._generation:
            return  # a newer search has been asked for
        self.loading = False
        keep = self.selected_id
        self.model.set_rows(rows)
        shown = f"{len(rows)} conversation{'s' if len(rows) != 1 else ''}"
        if len(rows) >= PAGE_SIZE:
            shown += f" (the newest {PAGE_SIZE}; search to narrow down)"
        self.status.setText(shown)
        for i, info in enumerate(rows):
            if info.id == keep:
                self.table.selectRow(i)
                break
        else:
            if rows:
                self.table.selectRow(0)
            else:
                self.detail.clear()

    @Slot(object)
    def on_load_failed(self, exc: BaseException) -> None:
        self.loading = False
        self.status.setText(f"The history could not be read: {exc}")

    # ---- the selected conversation ------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def on_table_currentRowChanged(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        self.show_conversation(self.model.rows[current.row()].id)

    def show_conversation(self, conversation_id: int) -> None:
        history = self.history()
        if history is None:
            return
        self.selected_id = conversation_id

        def read() -> tuple[Any, list[Any]]:
            return history.conversation(conversation_id), history.messages(conversation_id)

        run_in_background(
            read,
            on_done=lambda result: self.on_detail_loaded(conversation_id, result),
            on_error=self.on_load_failed,
            context=self,
        )

    def on_detail_loaded(self, conversation_id: int, result: tuple[Any, list[Any]]) -> None:
        if conversation_id != self.selected_id:
            return
        detail, messages = result
        if detail is None:
            self.detail.setPlainText("This conversation no longer exists.")
            return
        self.detail.setHtml(render_detail(detail, messages))
        self.detail_id = conversation_id
