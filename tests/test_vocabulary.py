"""One genre, many spellings: merging never writes a second spelling of a genre a file already has, and
placeholders never count as a genre."""

import pytest

from tagger.genres import Mode, combine, is_placeholder, own_genres
from tagger.vocabulary import genre_key, without_duplicates


@pytest.mark.parametrize(("first", "second"), [
    ("Hip-Hop", "hiphop"), ("Hip-Hop", "Hip Hop"), ("Hip-Hop", "HIP_HOP"), ("Hip-Hop", "Hip-Hop/Rap"),
    ("R&B", "RnB"), ("R&B", "Rhythm and Blues"), ("R&B", "r & b"), ("Rock & Roll", "Rock 'n' Roll"),
    ("Drum & Bass", "DnB"), ("Synth-Pop", "synthpop"), ("Lo-Fi", "lofi"), ("Électro", "ÉLECTRO"),
    ("Ｊａｚｚ", "jazz"),  # full-width letters normalise
])
def test_spellings_of_one_genre_share_a_key(first, second):
    assert genre_key(first) == genre_key(second)


@pytest.mark.parametrize(("first", "second"), [
    ("Rock", "Pop"), ("Hip-Hop", "Trip-Hop"), ("Rap", "R&B"), ("Metal", "Heavy Metal"), ("Blues", "R&B"),
])
def test_different_genres_keep_different_keys(first, second):
    assert genre_key(first) != genre_key(second)


def test_merge_keeps_the_files_spelling_and_adds_no_second_one():
    assert combine(["hip hop"], ["Hip-Hop", "Jazz"], Mode.MERGE) == ["hip hop", "Jazz"]
    assert combine(["Rhythm and Blues", "rnb"], ["R&B"], Mode.MERGE) == ["Rhythm and Blues"]
    assert combine(["Other", "Pop"], ["pop", "Rock"], Mode.MERGE) == ["Pop", "Rock"]
    assert without_duplicates(["Jazz", "jazz", "JAZZ ", "Blues"]) == ["Jazz", "Blues"]


def test_placeholders_are_not_genres():
    for value in ("", "   ", "Other", "UNKNOWN", " genre ", "None", "(12)", "12", "(255)"):
        assert is_placeholder(value), value
    for value in ("Rock", "(17)", "Otherworldly", "Unknown Pleasures"):
        assert not is_placeholder(value), value
    assert own_genres(["Other", "Jazz", ""]) == ["Jazz"]
    assert combine(["Unknown"], ["Rock"], Mode.FILL_EMPTY) == ["Rock"]
    assert combine(["Jazz"], ["Rock"], Mode.FILL_EMPTY) == ["Jazz"]
