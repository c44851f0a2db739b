"""Dataset sources: a folder per genre, a CSV manifest with multi-labels, or a tagged music library."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

from tagger.formats import is_audio_file

LABEL_SEPARATOR = ";"


class DatasetError(Exception):
    """The dataset cannot be used as given; the message says why."""


@dataclass(frozen=True)
class Track:
    """One labelled recording. ``id`` is stable across machines (a path relative to the dataset)."""

    id: str
    path: Path
    labels: tuple[str, ...]
    artist: str = ""

    @property
    def primary(self) -> str:
        return self.labels[0]


@dataclass
class Dataset:
    tracks: list[Track]
    labels: list[str] = field(default_factory=list)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = sorted({label for track in self.tracks for label in track.labels})


def _audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and is_audio_file(p))


def _normalise(label: str) -> str:
    return label.strip().lower()


def _one_label_per_genre(tracks: list[Track]) -> list[Track]:
    """Spellings of one genre ("Hip-Hop", "hip hop", an alias) are one label, as the tagger counts genres
    (``tagger.vocabulary.genre_key``), named by the dataset's most frequent spelling."""
    from tagger.vocabulary import genre_key, spellings_by_genre

    spelled = spellings_by_genre(label for track in tracks for label in track.labels)
    return [replace(track, labels=tuple(dict.fromkeys(spelled[genre_key(label)] for label in track.labels)))
            for track in tracks]


def from_folders(root: Path) -> Dataset:
    """``ROOT/<genre>/*.mp3|flac|ogg|wav``: the folder names the single genre (GTZAN's layout)."""
    tracks = _one_label_per_genre([
        Track(str(path.relative_to(root)), path, (_normalise(path.relative_to(root).parts[0]),))
        for path in _audio_files(root)
        if len(path.relative_to(root).parts) >= 2
    ])
    return Dataset(tracks, description=f"{len(tracks)} tracks in genre folders under {root.name}/")


def from_csv(manifest: Path) -> Dataset:
    """A CSV with columns ``path,genres[,artist]``; genres separated by ``;``, paths relative to it."""
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "genres"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{manifest}: missing column(s) {', '.join(sorted(missing))}")
        tracks = []
        for row in reader:
            labels = tuple(dict.fromkeys(_normalise(g) for g in row["genres"].split(LABEL_SEPARATOR) if g.strip()))
            if labels:
                path = (manifest.parent / row["path"]).resolve()
                tracks.append(Track(row["path"], path, labels, (row.get("artist") or "").strip()))
    return Dataset(_one_label_per_genre(tracks), description=f"{len(tracks)} tracks listed in {manifest.name}")


def from_tags(root: Path) -> Dataset:
    """A music library whose files already carry genre tags, read as `tagger scan` and `tagger learn` read
    them (``tagger.learning.labels``): placeholders are no genre, and the spellings of one genre ("Hip Hop",
    "hip-hop", an alias) are one label, the library's most frequent spelling in lower case. A file whose
    tags cannot be read is left out."""
    from tagger.learning.labels import choose_labels, read_tagged
    from tagger.tags import credits
    from tagger.vocabulary import GenreVocabulary

    reading = read_tagged(_audio_files(root), GenreVocabulary(), None, "track")
    tracks = [Track(str(file.path.relative_to(root)), file.path, tuple(map(_normalise, file.genres)),
                    credits.artist(file.path)) for file in choose_labels(reading.tagged, min_tracks=1).tracks]
    return Dataset(tracks, description=f"{len(tracks)} genre-tagged tracks under {root.name}/")


def load_dataset(data: Path, labels_from_tags: bool = False) -> Dataset:
    """Pick the source from what ``data`` is; raises DatasetError when nothing usable is found."""
    if not data.exists():
        raise DatasetError(f"{data}: no such file or directory")
    if data.is_file() and data.suffix.lower() == ".csv":
        dataset = from_csv(data)
    elif labels_from_tags:
        dataset = from_tags(data)
    else:
        dataset = from_folders(data)
    if not dataset.tracks:
        raise DatasetError(f"{data}: no labelled audio files found")
    return dataset
