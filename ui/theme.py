"""The look: one high-contrast light theme (every text colour meets WCAG AAA, 7:1, on its
background; the focus ring is a colour used for nothing else) and font sizes that scale.

Sizes are in points from one base size times `scale`, so the kiosk (read standing, an arm's
length or more away) is the same layout as the desktop window, only larger, and staff can
zoom either with Ctrl+plus / Ctrl+minus."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QWidget

# Colours (contrast against white, or against the colour they sit on, in the comment).
BACKGROUND = "#FFFFFF"
SURFACE = "#F2F4F7"  # panels
TEXT = "#0A0A0A"  # 19.8:1
MUTED = "#3A3A3A"  # 11.4:1 on white, 10.3:1 on SURFACE
BORDER = "#1A1A1A"
PRIMARY = "#0B3D91"  # white text on it: 10.0:1
CONFIRM = "#06622A"  # white text on it: 7.5:1
DANGER = "#A4161A"  # white text on it: 7.8:1
HIGHLIGHT = "#FFE14D"  # black text on it: 15.2:1 (what the assistant is asking for)
CALLER_BG = "#E8F0FE"  # black text on it: 17.3:1
WARNING_TEXT = "#8A4B00"  # 6.8:1: only for large/bold text
FOCUS = "#C2185B"  # 5.9:1 against white; used only for the keyboard focus ring

MIN_SCALE, MAX_SCALE = 0.75, 3.0
KIOSK_SCALE = 1.6
RESOURCES = Path(__file__).resolve().parent / "resources"


def _env_scale() -> float | None:
    raw = os.environ.get("PETVISOR_UI_SCALE", "").strip()
    if not raw:
        return None
    try:
        return min(MAX_SCALE, max(MIN_SCALE, float(raw)))
    except ValueError:
        return None


@dataclass(frozen=True)
class Theme:
    """Font sizes for one scale. `kiosk` themes start larger (see `for_mode`)."""

    scale: float = 1.0
    base_pt: float = 11.0

    @classmethod
    def for_mode(cls, kiosk: bool, screen_height_px: int | None = None) -> Theme:
        """The kiosk is read from a standing distance: 1.6 times the desktop size on a
        1080-pixel-high screen, in proportion on others (so the same layout fits a 1280x800
        touch screen and a 4K panel). PETVISOR_UI_SCALE overrides either."""
        scale = _env_scale()
        if scale is None:
            if kiosk:
                height = screen_height_px or 1080
                scale = round(min(2.6, max(1.1, KIOSK_SCALE * height / 1080)), 2)
            else:
                scale = 1.0
        return cls(scale=scale)

    def zoomed(self, step: int) -> Theme:
        """One zoom step (+1 / -1) of 10 %, or back to 1.0 with step 0."""
        scale = 1.0 if step == 0 else self.scale * (1.1 if step > 0 else 1 / 1.1)
        return replace(self, scale=round(min(MAX_SCALE, max(MIN_SCALE, scale)), 3))

    def pt(self, factor: float = 1.0) -> int:
        return max(8, round(self.base_pt * self.scale * factor))

    def px(self, value: float) -> int:
        """A length (padding, border) that grows with the text."""
        return max(1, round(value * self.scale))

    def stylesheet(self) -> str:
        p, x = self.pt, self.px
        arrow_down = (RESOURCES / "arrow-down.svg").as_posix()
        arrow_up = (RESOURCES / "arrow-up.svg").as_posix()
        return f"""
QWidget {{ color: {TEXT}; background: {BACKGROUND}; font-size: {p()}pt; }}
QMainWindow, QDialog, QWizard {{ background: {BACKGROUND}; }}
QToolTip {{ color: {TEXT}; background: {HIGHLIGHT}; border: 1px solid {BORDER}; }}
QLabel {{ background: transparent; }}
QLabel[role="title"] {{ font-size: {p(2.2)}pt; font-weight: 700; }}
QLabel[role="heading"] {{ font-size: {p(1.4)}pt; font-weight: 700; }}
QLabel[role="subtitle"] {{ font-size: {p(1.3)}pt; color: {MUTED}; }}
QLabel[role="muted"] {{ color: {MUTED}; }}
QLabel[role="question"] {{ font-size: {p(1.2)}pt; font-weight: 700; }}
QLabel[role="big"] {{ font-size: {p(1.6)}pt; font-weight: 600; }}
QLabel[role="problem"] {{ color: {DANGER}; font-weight: 700; }}
QLabel[role="ok"] {{ color: {CONFIRM}; font-weight: 700; }}
QLabel[role="warning"] {{ color: {WARNING_TEXT}; font-weight: 700; }}
QLabel[role="lockout"] {{ color: {DANGER}; font-weight: 700; font-size: {p(1.1)}pt; }}

QFrame[box="panel"] {{
    background: {SURFACE}; border: {x(2)}px solid {BORDER}; border-radius: {x(10)}px;
}}
QFrame[box="panel"] QLabel, QFrame[box="panel"] QCheckBox {{ background: transparent; }}
QFrame[box="notice"] {{
    background: {HIGHLIGHT}; border: {x(3)}px solid {BORDER}; border-radius: {x(8)}px;
}}
QFrame[box="notice"] QLabel {{ background: transparent; color: {TEXT}; }}
QFrame[box="problem"] {{
    background: #FDECEA; border: {x(3)}px solid {DANGER}; border-radius: {x(8)}px;
}}
QFrame[box="problem"] QLabel {{ background: transparent; color: {TEXT}; }}

QLabel[role="caption-assistant"] {{
    background: {SURFACE}; border: {x(2)}px solid {MUTED}; border-radius: {x(12)}px;
    padding: {x(10)}px {x(14)}px; font-size: {p(1.15)}pt;
}}
QLabel[role="caption-caller"] {{
    background: {CALLER_BG}; border: {x(2)}px solid {PRIMARY}; border-radius: {x(12)}px;
    padding: {x(10)}px {x(14)}px; font-size: {p(1.15)}pt;
}}
QLabel[role="caption-partial"] {{
    background: {CALLER_BG}; border: {x(2)}px dashed {PRIMARY}; border-radius: {x(12)}px;
    padding: {x(10)}px {x(14)}px; font-size: {p(1.15)}pt; font-style: italic;
}}
QLabel[role="caption-who"] {{ color: {MUTED}; font-size: {p(0.85)}pt; font-weight: 700; }}
QLabel[role="choice-hint"] {{ color: {MUTED}; font-size: {p(0.95)}pt; font-weight: 700; }}

QFrame[role="card-row"] {{
    background: transparent; border: {x(2)}px solid transparent; border-radius: {x(6)}px;
}}
QFrame[role="card-row"][expecting="true"] {{
    background: {HIGHLIGHT}; border: {x(3)}px solid {BORDER};
}}
QLabel[role="card-label"] {{ color: {MUTED}; font-size: {p(0.9)}pt; font-weight: 700; }}
QLabel[role="card-value"] {{ font-size: {p(1.15)}pt; font-weight: 600; }}
QLabel[role="card-empty"] {{ color: {MUTED}; font-size: {p(1.15)}pt; }}

QPushButton {{
    background: {BACKGROUND}; color: {TEXT}; border: {x(2)}px solid {BORDER};
    border-radius: {x(8)}px; padding: {x(8)}px {x(16)}px; min-height: {x(24)}px;
}}
QPushButton:hover {{ background: {SURFACE}; }}
QPushButton:pressed, QPushButton:checked {{ background: #D0D7E2; }}
QPushButton:disabled {{ color: #5A5A5A; border-color: #8A8A8A; background: #EDEDED; }}
QPushButton[kind="primary"] {{ background: {PRIMARY}; color: white; border-color: {PRIMARY}; }}
QPushButton[kind="primary"]:hover {{ background: #072B66; }}
QPushButton[kind="primary"]:pressed, QPushButton[kind="primary"]:checked {{
    background: #051D45;
}}
QPushButton[kind="confirm"] {{ background: {CONFIRM}; color: white; border-color: {CONFIRM}; }}
QPushButton[kind="confirm"]:hover {{ background: #044A1F; }}
QPushButton[kind="danger"] {{ background: {DANGER}; color: white; border-color: {DANGER}; }}
QPushButton[kind="danger"]:hover {{ background: #7D1013; }}
QPushButton[kind="primary"]:disabled, QPushButton[kind="confirm"]:disabled,
QPushButton[kind="danger"]:disabled {{ background: #8A8A8A; color: white; border-color: #8A8A8A; }}
/* An answer to tap: in the colours of the caller's own captions, which it becomes. */
QPushButton[kind="choice"] {{
    background: {CALLER_BG}; color: {TEXT}; border: {x(3)}px solid {PRIMARY}; font-weight: 700;
}}
QPushButton[kind="choice"]:hover {{ background: #D2E3FC; }}
QPushButton[kind="choice"]:pressed {{ background: {PRIMARY}; color: white; }}
QPushButton[kind="choice"]:disabled {{
    background: #EDEDED; color: #5A5A5A; border-color: #8A8A8A;
}}
QPushButton[kind="big"] {{ font-size: {p(1.4)}pt; font-weight: 700; padding: {x(16)}px {x(28)}px; }}
QPushButton[kind="star"] {{
    font-size: {p(1.8)}pt; font-weight: 700; min-width: {x(80)}px; min-height: {x(80)}px;
}}
QPushButton[kind="keypad"] {{
    font-size: {p(1.4)}pt; font-weight: 700; min-width: {x(64)}px; min-height: {x(52)}px;
}}
QPushButton[kind="link"] {{
    border: none; background: transparent; color: {PRIMARY}; text-decoration: underline;
    padding: {x(2)}px {x(4)}px; min-height: 0;
}}
QPushButton[sizing="big"] {{
    font-size: {p(1.4)}pt; font-weight: 700; padding: {x(14)}px {x(26)}px;
}}
QPushButton[sizing="huge"] {{
    font-size: {p(1.8)}pt; font-weight: 700; padding: {x(20)}px {x(40)}px;
    border-radius: {x(16)}px;
}}
QPushButton[sizing="medium"] {{
    font-size: {p(1.15)}pt; font-weight: 700; padding: {x(10)}px {x(18)}px;
}}
QPushButton[sizing="small"] {{
    font-size: {p(0.85)}pt; padding: {x(4)}px {x(10)}px; min-height: 0;
}}

QLineEdit, QPlainTextEdit, QTextEdit, QTextBrowser, QSpinBox, QComboBox, QDateEdit {{
    background: white; color: {TEXT}; border: {x(2)}px solid {BORDER}; border-radius: {x(6)}px;
    padding: {x(5)}px {x(8)}px; selection-background-color: {PRIMARY}; selection-color: white;
}}
QLineEdit[sizing="big"] {{ font-size: {p(1.3)}pt; padding: {x(10)}px; }}
QComboBox QAbstractItemView {{
    background: white; color: {TEXT}; selection-background-color: {PRIMARY};
    selection-color: white;
}}
QTableView, QTreeView, QListView, QListWidget {{
    background: white; alternate-background-color: {SURFACE}; border: {x(2)}px solid {BORDER};
    gridline-color: #9A9A9A; selection-background-color: {PRIMARY}; selection-color: white;
}}
QHeaderView::section {{
    background: {SURFACE}; color: {TEXT}; font-weight: 700; border: 1px solid #9A9A9A;
    padding: {x(4)}px {x(6)}px;
}}
QTabWidget::pane {{ border: {x(2)}px solid {BORDER}; }}
QTabBar::tab {{
    background: {SURFACE}; color: {TEXT}; border: {x(2)}px solid {BORDER};
    padding: {x(8)}px {x(18)}px; font-weight: 600;
}}
QTabBar::tab:selected {{ background: {PRIMARY}; color: white; }}
QGroupBox {{
    font-weight: 700; border: {x(2)}px solid {BORDER}; border-radius: {x(8)}px;
    margin-top: {p(1.2)}pt; padding: {x(12)}px {x(8)}px {x(8)}px {x(8)}px;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: {x(10)}px; padding: 0 {x(4)}px; }}
QProgressBar {{
    border: {x(2)}px solid {BORDER}; border-radius: {x(4)}px; background: white;
    text-align: center; color: {TEXT}; min-height: {x(18)}px;
}}
QProgressBar::chunk {{ background: {PRIMARY}; }}
QCheckBox, QRadioButton {{ spacing: {x(8)}px; background: transparent; }}
QRadioButton::indicator, QCheckBox::indicator {{
    width: {x(16)}px; height: {x(16)}px; border: {x(2)}px solid {BORDER}; background: white;
}}
QRadioButton::indicator {{ border-radius: {x(10)}px; }}
QCheckBox::indicator {{ border-radius: {x(3)}px; }}
QRadioButton::indicator:checked, QCheckBox::indicator:checked {{
    background: {PRIMARY}; border: {x(2)}px solid {BORDER};
}}
QRadioButton::indicator:disabled, QCheckBox::indicator:disabled {{ background: #DADADA; }}
QComboBox::drop-down {{
    subcontrol-origin: padding; subcontrol-position: center right; width: {x(28)}px;
    border-left: {x(2)}px solid {BORDER};
}}
QComboBox::down-arrow {{ image: url({arrow_down}); width: {x(14)}px; height: {x(14)}px; }}
QSpinBox {{ padding-right: {x(26)}px; }}
QSpinBox::up-button, QSpinBox::down-button {{
    subcontrol-origin: border; width: {x(24)}px; border-left: {x(2)}px solid {BORDER};
    background: {SURFACE};
}}
QSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-arrow {{ image: url({arrow_up}); width: {x(12)}px; height: {x(12)}px; }}
QSpinBox::down-arrow {{ image: url({arrow_down}); width: {x(12)}px; height: {x(12)}px; }}
QScrollBar:vertical {{ background: {SURFACE}; width: {x(14)}px; margin: 0; }}
QScrollBar:horizontal {{ background: {SURFACE}; height: {x(14)}px; margin: 0; }}
QScrollBar::handle {{
    background: #6A6A6A; border-radius: {x(5)}px; min-height: {x(30)}px; min-width: {x(30)}px;
}}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QStatusBar {{ background: {SURFACE}; border-top: 1px solid {BORDER}; }}
QMenuBar {{ background: {SURFACE}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {PRIMARY}; color: white; }}
QScrollArea {{ border: none; }}
QScrollArea#cardRows, QWidget#cardRowsInner,
QScrollArea#cardRows > QWidget#qt_scrollarea_viewport {{ background: transparent; }}

QLineEdit[role="problem"] {{ border: {x(3)}px solid {DANGER}; background: #FDECEA; }}

*:focus {{ outline: none; }}
QPushButton:focus, QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QPlainTextEdit:focus,
QTextBrowser:focus, QTableView:focus, QCheckBox:focus, QRadioButton:focus, QTabBar:focus,
QFrame[role="card-row"]:focus {{
    border: {x(4)}px solid {FOCUS};
}}
"""


def set_role(widget: QWidget, name: str, value: str | bool) -> None:
    """Set a style property and re-polish, so a change at run time shows at once."""
    widget.setProperty(name, value if isinstance(value, str) else ("true" if value else "false"))
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def apply(app: QApplication, theme: Theme) -> None:
    """Install the theme on the whole application (re-apply after a zoom)."""
    families = set(QFontDatabase.families())
    font = QFont(app.font())
    for family in ("Noto Sans", "DejaVu Sans", "Segoe UI", "Helvetica Neue"):
        if family in families:
            font.setFamily(family)
            break
    font.setPointSize(theme.pt())
    app.setFont(font)
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, "#FFFFFF"),
        (QPalette.ColorRole.AlternateBase, SURFACE),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, BACKGROUND),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, PRIMARY),
        (QPalette.ColorRole.HighlightedText, "#FFFFFF"),
        (QPalette.ColorRole.ToolTipBase, HIGHLIGHT),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
        (QPalette.ColorRole.Link, PRIMARY),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    app.setStyleSheet(theme.stylesheet())
    app.setProperty("petvisor_theme", theme.scale)
