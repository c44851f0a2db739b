"""`tagger batch` on a local Ray instance and `tagger apply`: the scan's analysis at catalogue scale, results in
Parquet, resumed without duplicates, applied and undone through the scan's own writer, and objects in S3 read
by byte ranges (a local S3 server started by the test)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from tagger.cli import main
from tests.conftest import tone, write_audio
from tests.tagtools import digest

pytest.importorskip("ray")
pyarrow_parquet = pytest.importorskip("pyarrow.parquet")

FORMATS = (".mp3", ".flac", ".ogg", ".m4a", ".wv")


def batch(*arguments: str):
    return CliRunner().invoke(main, ["batch", *arguments, "--actors", "2"], catch_exceptions=False)


def rows(results) -> list[dict]:
    return pyarrow_parquet.read_table(results).to_pylist()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    for index, suffix in enumerate(FORMATS):
        write_audio(root / "music" / f"song{index}{suffix}", tone(8.0, frequencies=(110.0 * (index + 1), 330.0),
                                                                   seed=index))
    (root / "music" / "broken.flac").write_bytes(b"fLaC this is not a stream")
    return root


@pytest.fixture(scope="module")
def analysed(library):
    """One batch over the folder, run once for the tests that read its results."""
    result = batch(str(library / "music"), "--out", str(library / "results"))
    assert result.exit_code == 0, result.output
    return library / "results", result.output


def test_batch_gives_what_a_scan_gives_and_a_row_per_file(library, analysed, tmp_path):
    results, output = analysed
    table = {row["uri"]: row for row in rows(results)}
    assert len(table) == len(FORMATS) + 1 and "analysed 6 tracks" in output
    broken = table[str(library / "music" / "broken.flac")]
    assert broken["status"] == "error" and broken["error"]
    report = tmp_path / "report.json"
    scanned = CliRunner().invoke(main, ["scan", str(library / "music"), "--mode", "replace", "--report",
                                        str(report), "--state-dir", str(tmp_path / "state")])
    assert scanned.exit_code == 1, scanned.output  # the broken file fails the scan too
    for record in json.loads(report.read_text()):
        if record["status"] == "error":
            continue
        row = table[record["path"]]
        assert row["genres"] == record["genres"] and row["status"] == "tagged", record["path"]
        for label, score in record["scores"].items():
            assert abs(row[f"score:{label}"] - score) < 1e-5
        assert row["size"] == os.path.getsize(record["path"]) and len(row["fingerprint"]) == 32


def test_a_rerun_resumes_without_duplicates(library, analysed, tmp_path):
    results, _ = analysed
    resumed = tmp_path / "results"
    shutil.copytree(results, resumed)
    parts = sorted(resumed.glob("part-*.parquet"))
    table = pyarrow_parquet.read_table(parts[0])
    pyarrow_parquet.write_table(table.slice(0, 2), parts[0])  # as if the run had stopped after two tracks
    (resumed / ".part-cut-short.parquet.tmp").write_bytes(b"half a part")  # a part whose write was cut off
    again = batch(str(library / "music"), "--out", str(resumed))
    assert again.exit_code == 0, again.output
    uris = [row["uri"] for row in rows(resumed)]
    assert sorted(uris) == sorted(set(uris)) and len(uris) == len(FORMATS) + 1
    assert "analysed 4 tracks" in again.output and "2 done by an earlier run" in again.output
    done = batch(str(library / "music"), "--out", str(resumed))
    assert done.exit_code == 0 and "are in" in done.output and "analysed" not in done.output  # one line says it
    assert len(rows(resumed)) == len(uris)


def test_apply_writes_through_the_scans_writer_and_undo_restores_every_byte(library, analysed, tmp_path):
    results, _ = analysed
    music = tmp_path / "music"
    shutil.copytree(library / "music", music)
    table = pyarrow_parquet.read_table(results).to_pylist()
    for row in table:  # the results name the copies, as if the batch had run on them
        row["uri"] = str(music / os.path.basename(row["uri"]))
    moved = tmp_path / "moved.parquet"
    pyarrow_parquet.write_table(pyarrow_parquet.read_table(results).from_pylist(table), moved)
    before = {path.name: digest(path) for path in music.iterdir()}
    write_audio(music / "song1.flac", tone(8.0, frequencies=(999.0,)))  # changed since it was analysed
    state = str(tmp_path / "state")

    dry = CliRunner().invoke(main, ["apply", str(moved), "--state-dir", state, "-v"])
    assert "would-tag" in dry.output and "changed since `tagger batch` analysed it" in dry.output
    assert " read from the table (" in dry.output and " analysed (" not in dry.output  # no model heard them
    assert all(digest(path) == before[path.name] for path in music.iterdir() if path.name != "song1.flac")
    written = CliRunner().invoke(main, ["apply", str(moved), "--write-tags", "--state-dir", state])
    assert written.exit_code == 1 and "tagged 4" in written.output, written.output  # all but the changed and
    assert "`tagger batch` could not analyse it" in written.output  # the broken file
    undone = CliRunner().invoke(main, ["undo", "--state-dir", state])
    assert undone.exit_code == 0, undone.output
    assert all(digest(path) == before[path.name] for path in music.iterdir() if path.name != "song1.flac")


@pytest.fixture
def s3_bucket(monkeypatch):
    """A local S3 server (moto's) with a bucket, and the environment that points pyarrow and Ray at it."""
    pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION":
                        "us-east-1", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="catalogue")
    yield client
    server.stop()


def test_objects_in_s3_are_read_by_byte_ranges(s3_bucket, tmp_path):
    sizes = {}  # long enough that the fingerprint's fixed cost (at most 192 KiB, an Ogg's 512) is not most
    for index, (suffix, seconds) in enumerate(((".flac", 90.0), (".m4a", 90.0), (".mp3", 240.0), (".ogg", 480.0))):
        path = write_audio(tmp_path / f"long{index}{suffix}", tone(seconds, noise=0.1, seed=index))
        s3_bucket.upload_file(str(path), "catalogue", f"music/long{index}{suffix}")
        sizes[f"s3://catalogue/music/long{index}{suffix}"] = path.stat().st_size
    result = batch("s3://catalogue/music/", "--out", str(tmp_path / "results"))
    assert result.exit_code == 0, result.output
    table = {row["uri"]: row for row in rows(tmp_path / "results")}
    assert set(table) == set(sizes)
    for uri, size in sizes.items():
        assert table[uri]["status"] == "tagged" and table[uri]["size"] == size
        assert 0 < table[uri]["bytes_read"] < size / 2, (uri, table[uri]["bytes_read"], size)


def test_a_decoder_that_kills_its_worker_costs_that_file_alone(tmp_path):
    import subprocess
    import sys

    from tagger.batch.run import CRASHED
    from tests.test_workers import SEGFAULTING_DECODER

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SEGFAULTING_DECODER)  # imported by every process, Ray's workers too
    files = [write_audio(tmp_path / "lib" / f"{name}.flac", tone(5.0, seed=index))
             for index, name in enumerate(["a", "b", "crash", "d", "e", "f", "g", "h", "i", "j"])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])}
    finished = subprocess.run([sys.executable, "-m", "tagger", "batch", str(tmp_path / "lib"), "--out",
                               str(tmp_path / "results"), "--actors", "2", "--min-confidence", "0"],
                              capture_output=True, text=True,
                              env=environment, timeout=600, check=False)
    assert finished.returncode == 0, finished.stderr
    table = {os.path.basename(row["uri"]): row for row in rows(tmp_path / "results")}
    assert len(table) == len(files)
    assert table["crash.flac"]["status"] == "error" and table["crash.flac"]["error"] == CRASHED
    others = {name: (row["status"], row["error"]) for name, row in table.items() if name != "crash.flac"}
    assert all(status == "tagged" for status, _ in others.values()), others


def test_a_manifest_names_objects_and_one_that_is_not_there_is_an_error_row(s3_bucket, tmp_path):
    path = write_audio(tmp_path / "there.flac", tone(6.0))
    s3_bucket.upload_file(str(path), "catalogue", "music/there.flac")
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("# what the label sent\ns3://catalogue/music/there.flac\ns3://catalogue/music/gone.flac\n")
    result = batch(str(manifest), "--out", str(tmp_path / "results"))
    assert result.exit_code == 0, result.output
    table = {row["uri"]: row for row in rows(tmp_path / "results")}
    assert table["s3://catalogue/music/there.flac"]["status"] == "tagged"
    gone = table["s3://catalogue/music/gone.flac"]
    assert gone["status"] == "error" and "no such object" in gone["error"]


def test_a_table_holds_one_analysis_and_another_is_refused(library, analysed, tmp_path):
    """Another count of windows per track, or another model, into the same table would give `tagger apply` two
    answers for a file: refused before anything runs. A part written before parts recorded their analysis
    counts as the model's own windows."""
    results, _ = analysed
    table = tmp_path / "results"
    shutil.copytree(results, table)
    for other in (["--windows", "3"], ["--model", "fast"]):
        refused = batch(str(library / "music"), "--out", str(table), *other)
        assert refused.exit_code == 1 and "another analysis" in refused.output, refused.output
    for part in table.glob("part-*.parquet"):  # as an earlier tagger wrote them: no schema metadata
        pyarrow_parquet.write_table(pyarrow_parquet.read_table(part).replace_schema_metadata(None), part)
    resumed = batch(str(library / "music"), "--out", str(table))
    assert resumed.exit_code == 0 and "are in" in resumed.output, resumed.output
