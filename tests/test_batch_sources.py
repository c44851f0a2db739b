"""What `tagger batch` is given to analyse: a folder, a glob, or a manifest (.txt, .csv, .parquet with a path
column), relative entries read from the manifest's folder, each file once; a SOURCE naming nothing is one
clear error. No Ray is needed to expand a SOURCE."""

from __future__ import annotations

import csv

import pytest

from tagger.batch.sources import SourceError, expand_source

pyarrow = pytest.importorskip("pyarrow")


@pytest.fixture
def music(tmp_path):
    for name in ("a/one.flac", "a/two.mp3", "b/three.flac", "b/notes.txt"):
        path = tmp_path / "music" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not decoded here")
    return tmp_path / "music"


def uris(source: str) -> list[str]:
    return [uri for uri, _ in expand_source(source)]


def test_a_folder_and_a_glob_name_the_audio_files_under_them(music):
    assert sorted(uris(str(music))) == sorted(str(music / name) for name in ("a/one.flac", "a/two.mp3", "b/three.flac"))
    assert sorted(uris(str(music / "**" / "*.flac"))) == [str(music / "a/one.flac"), str(music / "b/three.flac")]


def test_a_text_manifest_reads_relative_entries_from_its_folder_skips_comments_and_names_each_once(music):
    manifest = music / "list.txt"
    manifest.write_text(f"# sent by the label\na/one.flac\n\n  b/three.flac  \nfile://{music}/a/one.flac\n"
                        f"file://{music}/a/two.mp3\ns3://bucket/far/away.flac\n", encoding="utf-8")
    assert uris(str(manifest)) == [str(music / "a/one.flac"), str(music / "b/three.flac"), str(music / "a/two.mp3"),
                                   "s3://bucket/far/away.flac"]  # a file:// URI is the local file it names


def test_csv_and_parquet_manifests_read_their_path_column(music):
    table = music / "list.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["artist", "path"])
        writer.writerows([["X", "a/one.flac"], ["Y", ""], ["Z", str(music / "b/three.flac")]])
    assert uris(str(table)) == [str(music / "a/one.flac"), str(music / "b/three.flac")]
    import pyarrow.parquet as parquet

    parquet.write_table(pyarrow.table({"path": ["a/two.mp3", None, "b/three.flac"]}), music / "list.parquet")
    assert uris(str(music / "list.parquet")) == [str(music / "a/two.mp3"), str(music / "b/three.flac")]


@pytest.mark.parametrize("content", ["artist,title\nX,Y\n", ""])
def test_a_manifest_without_a_path_column_or_anything_is_one_clear_error(music, content):
    table = music / "list.csv"
    table.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match="path"):
        expand_source(str(table))


def test_a_source_that_names_no_audio_says_so(music):
    with pytest.raises(SourceError, match="no audio files found"):
        expand_source(str(music / "*.wav"))
