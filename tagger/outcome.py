"""What becomes of one file: from what its tags hold (the plan, made before any audio is decoded) and what
the model heard, to a status, the genres to write and the reason.

``tagger scan``, the beets plugin and the batch commands decide through this one rule, so that a file is
kept, skipped, left uncertain or tagged for the same reasons, in the same order, wherever it is met. The
rule is pure: it reads no file and writes none; the callers make the plan and carry out the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tagger.genres import Mode, combine, own_genres
from tagger.textenum import TextEnum

if TYPE_CHECKING:  # the statuses are read where numpy is not loaded (the state database, `tagger undo`)
    import numpy as np

    from tagger.decision import DecisionRule


class Status(TextEnum):
    """What happened to one file (the values appear in reports)."""

    TAGGED = "tagged"
    WOULD_TAG = "would-tag"  # a change is due: a dry run reports it, a write turns it into TAGGED
    UNCHANGED = "unchanged"
    KEPT = "kept"  # the file has genres of its own and the mode leaves them alone
    UNCERTAIN = "uncertain"  # the model's top genre is below --min-confidence: nothing is written
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Plan:
    """What is known of a file before it is listened to."""

    existing: list[str] = field(default_factory=list)  # its genres (values split on the separator)
    previous: list[str] = field(default_factory=list)  # its genre tag's values as read
    blocked: str = ""  # why its tags are not written whatever the model says, or ""
    heard_to_be_sure: bool = False  # blocked, but only the decoder can tell a damaged file (an error) from
    # audio whose tags we may not write (skipped)
    ours: bool = False  # its genres are the ones this tagger last wrote into it with this model


@dataclass(frozen=True)
class Outcome:
    status: Status
    genres: list[str] = field(default_factory=list)  # what the file carries (or would) afterwards
    reason: str = ""  # why it was kept as it was: skipped or uncertain


def settled_before_listening(plan: Plan, mode: Mode, analyse_all: bool = False) -> Outcome | None:
    """The outcome that needs no analysis (the file keeps its own genres, or its tags are not ours to write),
    or None: the file must be listened to. It needs no model, so a caller loads none when no file needs one."""
    if analyse_all:
        return None
    if mode is Mode.FILL_EMPTY and own_genres(plan.existing):
        return Outcome(_left_alone(plan), list(plan.existing))
    if plan.blocked and not plan.heard_to_be_sure:
        return Outcome(Status.SKIPPED, reason=plan.blocked)
    return None


def _left_alone(plan: Plan) -> Status:
    """A file fill-empty leaves as it is: ``kept`` when its genres are its owner's choice, ``unchanged`` when
    they are what this tagger wrote with this model (nothing for a person to reconsider)."""
    return Status.UNCHANGED if plan.ours else Status.KEPT


SETTINGS_DROP_ALL = "your settings (genres.map, genres.allow) drop every genre chosen"


@dataclass(frozen=True)
class OutcomeRule:
    """The decision rule with how its genres combine with a file's own (``mode``), and whether files the
    mode leaves alone are analysed anyway for their scores (``analyse_all``)."""

    decision: DecisionRule
    mode: Mode
    analyse_all: bool = False

    def before_listening(self, plan: Plan) -> Outcome | None:
        return settled_before_listening(plan, self.mode, self.analyse_all)

    def after_listening(self, plan: Plan, scores: list[float] | np.ndarray) -> Outcome:
        """The outcome once the model heard the file (``scores``: its calibrated probabilities)."""
        decision = self.decision.decide(scores)
        if decision.uncertain:
            return Outcome(Status.UNCERTAIN, reason=decision.uncertain)
        if not decision.genres:
            return Outcome(Status.SKIPPED, reason=SETTINGS_DROP_ALL)
        if plan.blocked:
            return Outcome(Status.SKIPPED, decision.genres, plan.blocked)
        target = combine(plan.existing, decision.genres, self.mode)
        if target == plan.existing:
            kept = self.mode is Mode.FILL_EMPTY and own_genres(plan.existing)
            return Outcome(_left_alone(plan) if kept else Status.UNCHANGED, target)
        return Outcome(Status.WOULD_TAG, target)
