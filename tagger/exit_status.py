"""The tagger's exit statuses, one home for what each number means (the README's "Exit status")."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # every file handled: tagged, unchanged, kept, uncertain or skipped with a reason
    SOME_FAILED = 1  # a file failed (error), an undo left files as they were, or the run had to stop
    USAGE = 2  # a usage error (click's own status for one)
    INTERRUPTED = 130  # 128 + SIGINT: what shells report for a run stopped by Ctrl-C
    CLOSED_PIPE = 141  # 128 + SIGPIPE: what `yes | head` reports for the writer whose reader went away

    @property
    def meaning(self) -> str:
        """What the status says, as ``tagger scan --help`` and the README put it."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitStatus.OK: "every file handled (tagged, unchanged, kept, uncertain, or skipped with a reason)",
    ExitStatus.SOME_FAILED: "a file failed, an undo left files as they were, or the run had to stop",
    ExitStatus.USAGE: "a usage error (a path that does not exist, a --model that is not a usable model)",
    ExitStatus.INTERRUPTED: "stopped by Ctrl-C after the file in hand; every change made is complete",
    ExitStatus.CLOSED_PIPE: "the reader of the output went away",
}
