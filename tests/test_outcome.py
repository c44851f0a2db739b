"""The one outcome rule of the scan, the beets plugin and the batch commands: what needs no listening, and
the order of the reasons once the model has heard a file."""

import numpy as np
import pytest

from tagger.decision import DecisionRule
from tagger.genres import Mode
from tagger.outcome import SETTINGS_DROP_ALL, OutcomeRule, Plan, Status, settled_before_listening
from tagger.vocabulary import GenreVocabulary

NAMES = ["Blues", "Jazz", "Rock"]
SURE_ROCK = [0.05, 0.05, 0.9]
UNSURE = [0.3, 0.35, 0.35]


def rule(mode=Mode.FILL_EMPTY, analyse_all=False, vocabulary=None) -> OutcomeRule:
    decision = DecisionRule(NAMES, np.full(3, 0.5, dtype=np.float32), 0.6, 2, vocabulary or GenreVocabulary())
    return OutcomeRule(decision, mode, analyse_all)


@pytest.mark.parametrize("mode", list(Mode))
def test_only_fill_empty_keeps_a_files_own_genres_without_listening(mode):
    outcome = settled_before_listening(Plan(["Shoegaze"], ["Shoegaze"]), mode)
    if mode is Mode.FILL_EMPTY:
        assert outcome.status is Status.KEPT and outcome.genres == ["Shoegaze"] and not outcome.reason
    else:
        assert outcome is None


def test_placeholders_and_empty_tags_need_listening_and_analyse_all_listens_to_everything():
    assert settled_before_listening(Plan(["Other"], ["Other"]), Mode.FILL_EMPTY) is None
    assert settled_before_listening(Plan(), Mode.FILL_EMPTY) is None
    assert settled_before_listening(Plan(["Shoegaze"]), Mode.FILL_EMPTY, analyse_all=True) is None


def test_a_blocked_file_is_skipped_unheard_unless_only_the_decoder_can_tell():
    read_only = Plan(blocked="the file is read-only; left as it is")
    assert settled_before_listening(read_only, Mode.REPLACE).status is Status.SKIPPED
    assert settled_before_listening(read_only, Mode.REPLACE).reason == read_only.blocked
    damaged = Plan(blocked="unreadable tag", heard_to_be_sure=True)
    assert settled_before_listening(damaged, Mode.REPLACE) is None
    heard = rule(Mode.REPLACE).after_listening(damaged, SURE_ROCK)
    assert heard.status is Status.SKIPPED and heard.reason == "unreadable tag" and heard.genres == ["Rock"]


def test_after_listening_uncertainty_comes_first_then_the_settings_then_the_tags():
    blocked = Plan(blocked="read-only")
    uncertain = rule().after_listening(blocked, UNSURE)
    assert uncertain.status is Status.UNCERTAIN and "below --min-confidence 0.6" in uncertain.reason
    assert not uncertain.genres
    dropping = rule(vocabulary=GenreVocabulary({"Rock": ""}))
    assert dropping.after_listening(blocked, SURE_ROCK) == dropping.after_listening(Plan(), SURE_ROCK)
    assert dropping.after_listening(Plan(), SURE_ROCK).reason == SETTINGS_DROP_ALL
    assert rule().after_listening(blocked, SURE_ROCK).status is Status.SKIPPED


@pytest.mark.parametrize(("mode", "existing", "status", "genres"), [
    (Mode.FILL_EMPTY, [], Status.WOULD_TAG, ["Rock"]),
    (Mode.FILL_EMPTY, ["Unknown"], Status.WOULD_TAG, ["Rock"]),
    (Mode.FILL_EMPTY, ["Jazz"], Status.KEPT, ["Jazz"]),
    (Mode.MERGE, ["Jazz"], Status.WOULD_TAG, ["Jazz", "Rock"]),
    (Mode.MERGE, ["rock"], Status.UNCHANGED, ["rock"]),
    (Mode.REPLACE, ["Rock"], Status.UNCHANGED, ["Rock"]),
    (Mode.REPLACE, ["Jazz"], Status.WOULD_TAG, ["Rock"]),
])
def test_the_mode_combines_the_heard_genres_with_the_files_own(mode, existing, status, genres):
    outcome = rule(mode, analyse_all=True).after_listening(Plan(existing, existing), SURE_ROCK)
    assert (outcome.status, outcome.genres, outcome.reason) == (status, genres, "")
