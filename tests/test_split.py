"""Splits and cross-validation folds never put one track (or one artist) on two sides; every track is tested
once across the folds; balancing and rare-genre filtering."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from trainer.data.sources import Track, from_csv, from_folders
from trainer.data.split import cap_per_class, drop_rare_labels, fold_splits, split_tracks
from trainer.data.windows import WindowDataset


def tracks(per_genre: int = 10, genres=("a", "b", "c"), artists_per_genre: int = 0) -> list[Track]:
    result = []
    for genre in genres:
        for index in range(per_genre):
            artist = f"{genre}-artist{index % artists_per_genre}" if artists_per_genre else ""
            result.append(Track(f"{genre}/{index}.mp3", Path(f"/x/{genre}/{index}.mp3"), (genre,), artist))
    return result


def test_track_split_is_disjoint_complete_stratified_and_seeded():
    items = tracks(per_genre=20)
    split = split_tracks(items, 0.15, 0.15, seed=3)
    sides = [set(split.train), set(split.val), set(split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert set().union(*sides) == {track.id for track in items}
    for side in (split.val, split.test):
        assert Counter(identifier.split("/")[0] for identifier in side) == {"a": 3, "b": 3, "c": 3}
    assert split_tracks(items, 0.15, 0.15, seed=3) == split
    assert split_tracks(items, 0.15, 0.15, seed=4) != split


def test_artist_split_keeps_each_artist_on_one_side():
    items = tracks(per_genre=12, artists_per_genre=4)
    split = split_tracks(items, 0.2, 0.2, seed=0, group_by="artist")
    artist_of = {track.id: track.artist for track in items}
    side_of_artist = {}
    for side, identifiers in split.to_dict().items():
        for identifier in identifiers:
            assert side_of_artist.setdefault(artist_of[identifier], side) == side


def test_windows_of_a_track_stay_with_it():
    waveforms = [np.zeros(30 * 100), np.zeros(10 * 100), np.zeros(2 * 100)]
    dataset = WindowDataset(waveforms, np.eye(3), window=400, hop=200)
    # 30 s -> 14 windows, 10 s -> 4, a clip shorter than a window -> 1 (padded, not dropped)
    assert Counter(dataset.track_indices().tolist()) == {0: 14, 1: 4, 2: 1}
    window, target, track = dataset[len(dataset) - 1]
    assert window.shape == (400,) and track == 2 and target.tolist() == [0, 0, 1]


def test_windows_per_track_are_excerpts_from_anywhere_in_each_track_and_repeat_with_the_seed():
    ramps = [np.arange(30 * 100, dtype=np.float32), np.arange(10 * 100, dtype=np.float32) + 1e5,
             np.arange(2 * 100, dtype=np.float32) + 2e5]

    def excerpts(seed: int) -> list[tuple[int, float]]:
        dataset = WindowDataset(ramps, np.eye(3), window=400, hop=200, seed=seed, per_track=5)
        assert Counter(dataset.track_indices().tolist()) == {0: 5, 1: 5, 2: 5}  # a short clip as often as a long
        items = [dataset[item] for item in range(len(dataset))]
        for window, target, track in items:
            assert window.shape == (400,) and target.argmax() == track
            whole = window if track < 2 else window[:200]  # the short clip is padded after its end
            assert np.all(np.diff(whole.numpy()) == 1)  # one excerpt of the ramp, not a spliced one
        return [(track, float(window[0])) for window, _, track in items]

    first = excerpts(seed=1)
    starts = {start for track, start in first if track == 0}
    assert len(starts) > 1 and not starts <= {200.0 * k for k in range(14)}  # not bound to the hop grid
    assert excerpts(seed=1) == first and excerpts(seed=2) != first


def test_cap_per_class_undersamples_only_large_classes():
    items = tracks(per_genre=10, genres=("a",)) + tracks(per_genre=3, genres=("b",))
    capped = cap_per_class(items, 5, seed=0)
    assert Counter(track.primary for track in capped) == {"a": 5, "b": 3}


def test_rare_labels_are_dropped_and_tracks_without_labels_removed():
    items = [*tracks(per_genre=4, genres=("a",)), Track("x", Path("/x"), ("rare",)),
             Track("y", Path("/y"), ("a", "rare"))]
    kept, labels = drop_rare_labels(items, min_tracks=3)
    assert labels == ["a"]
    assert {track.id for track in kept} == {track.id for track in items} - {"x"}
    assert all(track.labels == ("a",) for track in kept)


def test_folder_and_csv_sources(tmp_path):
    for name in ("Rock/one.mp3", "rock/two.flac", "jazz/three.wav", "jazz/notes.txt", "loose.mp3"):
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lib" / name).write_bytes(b"")
    dataset = from_folders(tmp_path / "lib")
    assert sorted((t.id, t.labels) for t in dataset.tracks) == [
        ("Rock/one.mp3", ("rock",)), ("jazz/three.wav", ("jazz",)), ("rock/two.flac", ("rock",))
    ]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,genres,artist\nlib/Rock/one.mp3,Rock; Blues ;,Someone\nlib/x.mp3,,\n")
    (track,) = from_csv(manifest).tracks
    assert track.labels == ("rock", "blues") and track.artist == "Someone" and track.path.is_absolute()


@pytest.mark.parametrize(("per_genre", "folds"), [(10, 5), (7, 5), (11, 3), (9, 4)])
def test_folds_test_every_track_once_stratified_and_seeded(per_genre, folds):
    items = tracks(per_genre=per_genre, genres=("a", "b", "c", "d"))
    splits = fold_splits(items, folds, val_fraction=0.15, seed=2)
    assert [split.fold for split in splits] == [f"{k}/{folds}" for k in range(1, folds + 1)]
    tested = [identifier for split in splits for identifier in split.test]
    assert sorted(tested) == sorted(track.id for track in items)
    for split in splits:
        train, val, test = set(split.train), set(split.val), set(split.test)
        assert not (train & val) and not (train & test) and not (val & test)
        assert train | val | test == {track.id for track in items}
        assert {identifier.split("/")[0] for identifier in split.val} == set("abcd")  # every genre validates
    per_fold = [Counter(identifier.split("/")[0] for identifier in split.test) for split in splits]
    for genre in "abcd":
        counts = [fold[genre] for fold in per_fold]
        assert max(counts) - min(counts) <= 1, (genre, counts)
    sizes = [len(split.test) for split in splits]
    assert max(sizes) - min(sizes) <= 1
    assert fold_splits(items, folds, 0.15, seed=2) == splits
    assert fold_splits(items, folds, 0.15, seed=3) != splits


def test_artist_folds_keep_each_artist_on_one_side():
    items = tracks(per_genre=12, artists_per_genre=4)
    artist_of = {track.id: track.artist for track in items}
    for split in fold_splits(items, 4, 0.2, seed=0, group_by="artist"):
        sides = [{artist_of[i] for i in side} for side in (split.train, split.val, split.test)]
        assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])


def test_impossible_folds_are_refused():
    with pytest.raises(ValueError, match="at least 2 folds"):
        fold_splits(tracks(), 1, 0.15, seed=0)
    with pytest.raises(ValueError, match="cannot fill 5 folds"):
        fold_splits(tracks(per_genre=1), 5, 0.15, seed=0)


def test_spellings_of_one_genre_are_one_label_as_the_tagger_counts_genres(tmp_path):
    """Folders "Hip-Hop", "hip hop" and "hiphop" and a manifest's "R&B" beside "Rhythm and Blues" (aliases)
    are one label each, named by the dataset's most frequent spelling; other genres stay apart."""
    for name in ("Hip-Hop/a.mp3", "Hip-Hop/b.mp3", "hip hop/c.mp3", "hiphop/d.mp3", "Rock/e.mp3"):
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lib" / name).write_bytes(b"")
    dataset = from_folders(tmp_path / "lib")
    assert dataset.labels == ["hip-hop", "rock"]
    assert sorted(track.labels for track in dataset.tracks).count(("hip-hop",)) == 4
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,genres\na.mp3,R&B\nb.mp3,rhythm and blues;r&b\nc.mp3,R&B;Soul\n")
    tracks = from_csv(manifest).tracks
    assert [track.labels for track in tracks] == [("r&b",), ("r&b",), ("r&b", "soul")]
