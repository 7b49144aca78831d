"""The local history: conversations, turns, tool calls, bookings, handoffs, staff users and the
reception worklist in one SQLite file, written as each conversation goes, with backups,
recovery and retention.

The engine records through `History`; the app opens it at start-up with
`History.open_with_recovery(settings)` and shows the `RecoveryReport` when it
`needs_attention`.
"""

from petvisor_desktop.history.backups import (
    BackupFile,
    CheckResult,
    Problem,
    RestoreResult,
    backup_database,
    check_database,
    list_backups,
    restore_backup,
    rotate_backups,
)
from petvisor_desktop.history.errors import HistoryError, RecordNotFound
from petvisor_desktop.history.migrations import MIGRATIONS, SCHEMA_VERSION
from petvisor_desktop.history.privacy import phone_key
from petvisor_desktop.history.records import (
    BOOKING_STATUSES,
    LATENCY_FIELDS,
    MODES,
    OUTCOMES,
    ROLES,
    TOOL_STATUSES,
    BookingRecord,
    ClientRecord,
    ConversationDetail,
    ConversationInfo,
    HandoffRecord,
    Message,
    RecoveryAction,
    RecoveryReport,
    RedactionCounts,
    StaffAction,
    StaffUserInfo,
    ToolCallRecord,
    VerifyResult,
    WorklistItem,
)
from petvisor_desktop.history.retention import DEFAULT_RETENTION_DAYS
from petvisor_desktop.history.store import History, open_with_recovery

__all__ = [
    "BOOKING_STATUSES",
    "DEFAULT_RETENTION_DAYS",
    "LATENCY_FIELDS",
    "MIGRATIONS",
    "MODES",
    "OUTCOMES",
    "ROLES",
    "SCHEMA_VERSION",
    "TOOL_STATUSES",
    "BackupFile",
    "BookingRecord",
    "CheckResult",
    "ClientRecord",
    "ConversationDetail",
    "ConversationInfo",
    "HandoffRecord",
    "History",
    "HistoryError",
    "Message",
    "Problem",
    "RecordNotFound",
    "RecoveryAction",
    "RecoveryReport",
    "RedactionCounts",
    "RestoreResult",
    "StaffAction",
    "StaffUserInfo",
    "ToolCallRecord",
    "VerifyResult",
    "WorklistItem",
    "backup_database",
    "check_database",
    "list_backups",
    "open_with_recovery",
    "phone_key",
    "restore_backup",
    "rotate_backups",
]
