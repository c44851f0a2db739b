"""The tagger's exit statuses, one home for what each number means (the README's "Exit status")."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # every file handled: tagged, unchanged, kept, uncertain or skipped with a reason
    SOME_FAILED = 1  # a file failed (error), an undo left files as they were, or the run had to stop
    USAGE = 2  # a usage error (click's own status for one)
    INTERRUPTED = 130  # 128 + SIGINT: what shells report for a run stopped by Ctrl-C
    CLOSED_PIPE = 141  # 128 + SIGPIPE: what `yes | head` reports for the writer whose reader went away
