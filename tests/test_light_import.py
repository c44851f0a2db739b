"""The tagger must stay light: importing it (and its CLI) loads neither torch nor librosa."""

import subprocess
import sys


def test_import_tagger_loads_no_torch_and_no_librosa():
    code = (
        "import sys, tagger, tagger.cli, tagger.scan, tagger.model, tagger.tags, tagger.recovery, tagger.report\n"
        "heavy = sorted(m for m in ('torch', 'librosa', 'sklearn', 'scipy', 'onnx', 'trainer', 'export', 'ray',"
        " 'pyarrow') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shipped_default_model_loads_without_torch():
    code = (
        "import sys\n"
        "from tagger.model import GenreModel\n"
        "model = GenreModel()\n"
        "assert model.info.labels and len(model.info.labels) == len(model.info.genre_names)\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_trainer_without_its_packages_says_in_one_line_what_to_install(tmp_path):
    """The light install has no torch: `trainer train` names the extra and the CPU build instead of a traceback."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # as in the light install: importing it fails\n"
        "from trainer.cli import main\n"
        "main()\n"
    )
    finished = subprocess.run([sys.executable, "-c", code, "train", "--data", str(tmp_path), "--out",
                               str(tmp_path / "run")], capture_output=True, text=True, check=False)
    assert finished.returncode == 1 and "Traceback" not in finished.stderr, finished.stderr
    assert finished.stderr.count("\n") == 1 and "genre-tagger[train]" in finished.stderr
    assert "download.pytorch.org/whl/cpu" in finished.stderr


def test_the_command_line_and_its_help_load_no_numpy():
    """`tagger --help`, `tagger config` and usage errors answer before numpy (a tenth of a second) is loaded."""
    code = (
        "import sys\n"
        "from tagger.cli import main\n"
        "assert 'numpy' not in sys.modules, 'tagger.cli imported numpy'\n"
        "try:\n"
        "    main(['scan', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'numpy' not in sys.modules, 'scan --help imported numpy'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
