"""Splits never put one track (or one artist) on two sides; balancing and rare-genre filtering."""

from collections import Counter
from pathlib import Path

import numpy as np

from trainer.data.sources import Track, from_csv, from_folders
from trainer.data.split import cap_per_class, drop_rare_labels, split_tracks
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
