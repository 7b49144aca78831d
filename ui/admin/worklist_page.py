"""The reception worklist in the staff screens: the callers who need a person, newest first,
and for the one selected why, when, what was understood, how to reach them and exactly what
to look for in Vetstoria; with the buttons to mark it done, add a note, give the verdict on a
lost booking, or reopen it. Who did it is the signed-in staff member.

Every read and write runs in the background. The page is staff-only (behind the login): it
shows callers' details, which the kiosk never does. On a full disk it says so: what staff do
is kept in memory and saved when space is freed (`history.spool`)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
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

from petvisor_desktop import worklist as words
from ui import theme
from ui.admin.history_browser import pairs_table
from ui.admin.rows_table import RowsTable
from ui.widgets import button, label
from ui.workers import run_in_background
from ui.worklist_watch import WorklistWatch

LIMIT = 300


class WorklistTable(RowsTable):
    COLUMNS = ("Raised", "Why", "Caller", "State")  # how to reach them: in the detail

    def __init__(self, tz: tzinfo | None) -> None:
        super().__init__()
        self.tz = tz

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        item = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return (
                words.local(item.raised_at, self.tz),
                words.headline(item),
                words.caller(item),
                "Open" if item.is_open else f"Done ({item.done_by})",
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return words.why(item)
        return None


def render_item(item: Any, tz: tzinfo | None) -> str:
    """One item as HTML (everything escaped: it holds callers' words)."""
    e = html.escape
    where = words.MODE_WORDS.get(item.mode, item.mode)
    parts = [
        f"<h2>{e(words.headline(item))}</h2>",
        f"<p><b>Why:</b> {e(words.why(item))}<br>"
        f"<b>When:</b> {e(words.local(item.raised_at, tz))}, {e(where)} "
        f"(conversation {item.id})<br>"
        f"<b>State:</b> {e(words.state(item, tz))}</p>",
    ]
    check = words.vetstoria_check(item)
    if check:
        verdict = words.ACTION_WORDS.get(item.verdict or "")
        parts.append(
            "<table width='100%' cellpadding='8' style='background:#FFF6CC'><tr><td>"
            f"<b>Look for this in Vetstoria:</b><br>{e(check)}"
            + (f"<br><b>Checked:</b> {e(verdict)}" if verdict else "")
            + "</td></tr></table>"
        )
    if item.is_open:
        parts.append(f"<p><b>Next:</b> {e(words.next_step(item))}</p>")
    parts.append(
        f"<h3>Caller</h3><p>{e(words.caller(item))}<br><b>Contact:</b> {e(words.contact(item))}</p>"
    )
    understood = words.understood(item)
    parts.append("<h3>What was understood</h3>")
    if understood:
        parts.append(pairs_table(understood))
    else:
        parts.append("<p>Nothing yet: see the conversation in History.</p>")
    if item.caller_said:
        parts.append(f"<h3>Their last words</h3><p>“{e(item.caller_said)}”</p>")
    if item.redacted:
        parts.append("<p><b>Personal data was removed (retention or a forget request).</b></p>")
    parts.append("<h3>Notes and actions</h3>")
    if item.actions:
        parts += [f"<p>{e(words.action_line(a, tz))}</p>" for a in item.actions]
    else:
        parts.append("<p>None yet.</p>")
    return "\n".join(parts)


class WorklistPage(QWidget):
    """`history` returns the open History (or None while it loads); `staff_email` is who is
    signed in (recorded with each action, by their display name). `watch` polls the open
    items (the app's own, so that the badge and this page agree); without one the page
    polls for itself while it exists. `count_changed(n)`: n open items."""

    count_changed = Signal(int)
    show_in_history = Signal(int)

    def __init__(
        self,
        history: Callable[[], Any],
        *,
        staff_email: str = "",
        watch: WorklistWatch | None = None,
        tz: tzinfo | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPage")
        self.history = history
        self.staff_email = staff_email
        self.staff_name = staff_email  # until the display name has been read
        self.tz = tz
        self.selected_id: int | None = None
        self.loading = False
        self._generation = 0
        self.owns_watch = watch is None
        self.watch = watch or WorklistWatch(history, parent=self)
        self.watch.changed.connect(self.on_watch_changed)
        if self.owns_watch:
            self.watch.start()

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.setObjectName("worklistFilter")
        self.filter.setAccessibleName("Which items to show")
        self.filter.addItem("Open items", True)
        self.filter.addItem("All items (with the done ones)", False)
        self.refresh_button = button("Refresh", name="worklistRefresh", tip="Read again (F5)")
        self.refresh_button.setShortcut("F5")
        self.status = label("", "muted", name="worklistStatus")
        top.addWidget(self.filter)
        top.addWidget(self.refresh_button)
        top.addWidget(self.status, 1)
        layout.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = WorklistTable(tz)
        self.table = QTableView()
        self.table.setObjectName("worklistTable")
        self.table.setAccessibleName("Worklist items")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        # The list fits its half of the window: the reason and the caller give way (elided;
        # the whole of both is in the detail) before a sideways scroll bar would appear.
        fit, share = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch
        for column, mode in enumerate((fit, share, share, fit)):
            header.setSectionResizeMode(column, mode)
        self.table.setWordWrap(False)
        split.addWidget(self.table)

        right = QWidget()
        side = QVBoxLayout(right)
        side.setContentsMargins(0, 0, 0, 0)
        self.detail = QTextBrowser()
        self.detail.setObjectName("worklistDetail")
        self.detail.setAccessibleName("The selected worklist item")
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Nothing on the worklist needs you right now.")
        side.addWidget(self.detail, 1)
        # Two rows, so that the list beside keeps room for its columns.
        actions = QHBoxLayout()
        verdicts = QHBoxLayout()
        self.done_button = button("Mark done", kind="confirm", name="worklistDone")
        self.found_button = button(
            "Found in Vetstoria",
            name="worklistFound",
            tip="The booking is in Vetstoria: it is recorded as confirmed",
        )
        self.not_booked_button = button(
            "Not booked",
            name="worklistNotBooked",
            tip="The booking is not in Vetstoria: it is recorded as failed",
        )
        self.reopen_button = button("Reopen", name="worklistReopen")
        self.history_button = button(
            "Show in History", name="worklistShowHistory", tip="The whole conversation"
        )
        for b in (self.done_button, self.reopen_button, self.history_button):
            actions.addWidget(b)
        actions.addStretch(1)
        for b in (self.found_button, self.not_booked_button):
            verdicts.addWidget(b)
        verdicts.addStretch(1)
        side.addLayout(verdicts)
        side.addLayout(actions)
        notes = QHBoxLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("worklistNote")
        self.note_edit.setAccessibleName("A note on this item")
        self.note_edit.setPlaceholderText("Add a note: what you did, what the caller said…")
        self.note_button = button("Add note", name="worklistAddNote")
        notes.addWidget(self.note_edit, 1)
        notes.addWidget(self.note_button)
        side.addLayout(notes)
        self.feedback = label("", "ok", name="worklistFeedback")
        side.addWidget(self.feedback)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([700, 560])
        layout.addWidget(split, 1)

        self.filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.refresh_button.clicked.connect(self.reload)
        self.table.selectionModel().currentRowChanged.connect(self.on_table_currentRowChanged)
        self.done_button.clicked.connect(self.on_done_button_clicked)
        self.found_button.clicked.connect(
            lambda: self._act(lambda h, i, who: h.settle_booking(i, True, who))
        )
        self.not_booked_button.clicked.connect(
            lambda: self._act(lambda h, i, who: h.settle_booking(i, False, who))
        )
        self.reopen_button.clicked.connect(lambda: self._act(lambda h, i, who: h.reopen(i, who)))
        self.note_button.clicked.connect(self.on_note_button_clicked)
        self.note_edit.returnPressed.connect(self.on_note_button_clicked)
        self.note_edit.textChanged.connect(lambda _t: self._refresh_buttons())
        self.history_button.clicked.connect(self.on_history_button_clicked)
        self._refresh_buttons()

    def stop_polling(self) -> None:
        """The staff screens are closing: a watch of the page's own stops (the app's goes on
        for the badge)."""
        if self.owns_watch:
            self.watch.stop()

    # ---- the list -------------------------------------------------------------------------

    @property
    def open_only(self) -> bool:
        return bool(self.filter.currentData())

    def current(self) -> Any | None:
        return next((i for i in self.model.rows if i.id == self.selected_id), None)

    def reload(self) -> None:
        history = self.history()
        if history is None:
            self.status.setText("The history database is not available yet; see Diagnostics.")
            return
        self._generation += 1
        generation, open_only, email = self._generation, self.open_only, self.staff_email
        self.loading = True

        def read() -> tuple[list[Any], str, Any]:
            items = history.worklist(open_only=open_only, limit=LIMIT)
            name = email
            for user in history.users() if email else ():
                if user.email == email and user.display_name:
                    name = user.display_name
            return items, name, history.storage_status

        run_in_background(
            read,
            on_done=lambda result: self.on_list_loaded(generation, *result),
            on_error=self.on_failed,
            context=self,
        )

    def on_list_loaded(
        self, generation: int, items: list[Any], staff_name: str, storage: Any
    ) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self.staff_name = staff_name
        self.model.set_rows(items)
        open_count = sum(i.is_open for i in items)
        if self.open_only:
            self.count_changed.emit(open_count)
            counted = (
                f"{open_count} open item{'s' if open_count != 1 else ''}"
                if open_count
                else "Nothing open: every caller who needed a person has been dealt with."
            )
        else:
            counted = f"{len(items)} items, {open_count} open"
        if storage.disk_full:  # what staff do is kept meanwhile: say so where they do it
            counted += f". {storage.message}"
        self.status.setText(counted)
        theme.set_role(self.status, "role", "warning" if storage.disk_full else "muted")
        for row, item in enumerate(items):
            if item.id == self.selected_id:
                self.table.selectRow(row)
                self.show_item(item)
                break
        else:
            if items:
                self.table.selectRow(0)
            else:
                self.selected_id = None
                self.detail.clear()
        self._refresh_buttons()

    @Slot(object)
    def on_watch_changed(self, items: list[Any]) -> None:
        self.count_changed.emit(len(items))
        self.reload()

    @Slot(QModelIndex, QModelIndex)
    def on_table_currentRowChanged(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.show_item(self.model.rows[current.row()])

    def show_item(self, item: Any) -> None:
        if item.id != self.selected_id:
            self.feedback.clear()
        self.selected_id = item.id
        self.detail.setHtml(render_item(item, self.tz))
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        item = self.current()
        signed_in = bool(self.staff_email)
        lost = item is not None and words.vetstoria_check(item) is not None
        self.done_button.setEnabled(signed_in and item is not None and item.is_open)
        self.reopen_button.setEnabled(signed_in and item is not None and not item.is_open)
        self.found_button.setEnabled(signed_in and lost)
        self.not_booked_button.setEnabled(signed_in and lost)
        self.found_button.setVisible(lost)
        self.not_booked_button.setVisible(lost)
        self.note_button.setEnabled(
            signed_in and item is not None and bool(self.note_edit.text().strip())
        )
        self.note_edit.setEnabled(signed_in and item is not None)
        self.history_button.setEnabled(item is not None)
        if not signed_in:
            self.note_edit.setPlaceholderText("Sign in to the staff screens to act on items.")

    # ---- what staff do -----------------------------------------------------------------------

    @Slot()
    def on_done_button_clicked(self) -> None:
        note = self.note_edit.text().strip() or None
        self._act(lambda h, i, who: h.mark_done(i, who, note), clear_note=note is not None)

    @Slot()
    def on_note_button_clicked(self) -> None:
        note = self.note_edit.text().strip()
        if note:
            self._act(lambda h, i, who: h.add_note(i, who, note), clear_note=True)

    @Slot()
    def on_history_button_clicked(self) -> None:
        if self.selected_id is not None:
            self.show_in_history.emit(self.selected_id)

    def _act(self, do: Callable[[Any, int, str], Any], *, clear_note: bool = False) -> None:
        history, item_id, who = self.history(), self.selected_id, self.staff_name
        if history is None or item_id is None or not who:
            return
        self.feedback.setText("Saving…")
        run_in_background(
            lambda: do(history, item_id, who),
            on_done=lambda item: self.on_acted(item, clear_note),
            on_error=self.on_failed,
            context=self,
        )

    def on_acted(self, item: Any, clear_note: bool) -> None:
        if clear_note:
            self.note_edit.clear()
        last = item.actions[-1]
        said = f"#{item.id} {words.action_line(last, self.tz)}"  # kept: says it is not yet saved
        self.feedback.setText(said if last.kept else f"Saved. {said}")
        theme.set_role(self.feedback, "role", "warning" if last.kept else "ok")
        self.watch.poll(force=True)  # the badge follows at once
        self.reload()

    @Slot(object)
    def on_failed(self, exc: BaseException) -> None:
        self.loading = False
        self.feedback.setText(f"The worklist could not be read or changed: {exc}")
        theme.set_role(self.feedback, "role", "problem")
