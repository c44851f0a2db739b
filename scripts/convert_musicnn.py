"""One-off: convert musicnn's MSD-trained network (Pons & Serra, MTG-UPF; ISC licence) from its TensorFlow
checkpoint into the weights file the trainer loads, and record reference outputs of the ORIGINAL
TensorFlow network that the PyTorch port is tested against.

The weights ship inside the PyPI wheel `musicnn==0.1.0`, which must never be a dependency of ours (its
metadata pins numpy<1.17). Run this in a throw-away virtual environment:

  python3 -m venv /tmp/tf && /tmp/tf/bin/pip install "tensorflow-cpu==2.15.*" librosa soundfile soxr
  pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
  /tmp/tf/bin/python scripts/convert_musicnn.py --wheel /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

It writes trainer/backbones/musicnn_msd.npz (the trained variables under their TensorFlow names, Adam
slots dropped), musicnn_msd.LICENSE (the notice that must travel with the weights) and
musicnn_msd_reference.npz: for synthetic signals (stored whole) and, where ../shared/data is present,
a few real clips (stored by path and offset, never their audio), the network's input patches' source, its
50 tag probabilities and its 200-d penultimate embedding.

Preprocessing is the network's own, done correctly (not the package's extractor.py, which casts the
mel spectrogram to float16 before the logarithm, overflowing to inf on loud clips): librosa power mel at
16 kHz, n_fft 512, hop 256, 96 bands, then log10(10000 x + 1), cut into patches of 187 frames.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Torch-free modules only: this runs in the TensorFlow environment.
from tagger.audio import load_track  # noqa: E402
from trainer.audio_params import MUSICNN_AUDIO as AUDIO  # noqa: E402
from trainer.backbones.musicnn_reference import leading_patches, reference_log_mel  # noqa: E402

OUT = ROOT / "trainer" / "backbones"
CHECKPOINT = "musicnn/MSD_musicnn/"
PATCHES_PER_CLIP = 2
REAL_CLIPS = ("blues/blues.00016.mp3", "classical/classical.00022.mp3", "hiphop/hiphop.00021.mp3",
              "metal/metal.00025.mp3", "reggae/reggae.00017.mp3")


def synthetic_signals() -> dict[str, np.ndarray]:
    """Deterministic test signals, 6.1 s at 16 kHz (two full patches each)."""
    rng = np.random.default_rng(20261124)
    t = np.arange(int(6.1 * AUDIO.sample_rate)) / AUDIO.sample_rate
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float32)
    return {
        "noise": 0.1 * rng.standard_normal(t.size),
        "chord": 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)),
        "beat_and_bass": 0.5 * beat * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 55 * t),
        "chirp": 0.3 * np.sin(2 * np.pi * (100 + 400 * t) * t),
    }


def read_variables(checkpoint: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint) + "/")
    names = [name for name in reader.get_variable_to_shape_map() if "Adam" not in name and "power" not in name]
    return {name: reader.get_tensor(name).astype(np.float32) for name in sorted(names)}


def tensorflow_outputs(package_root: Path, checkpoint: Path, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tag probabilities [n, 50], penultimate [n, 200]) of the original graph, restored explicitly."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    sys.path.insert(0, str(package_root))
    from musicnn import models  # the package's own graph definition

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, AUDIO.frames, AUDIO.n_mels])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, "MSD_musicnn", 50)
        logits, penultimate = outputs[0], outputs[-1]
    with tf.compat.v1.Session() as session:
        tf.compat.v1.train.Saver().restore(session, str(checkpoint) + "/")  # raises if anything is missing
        probabilities, embedding = session.run([tf.nn.sigmoid(logits), penultimate],
                                               {x: patches, is_training: False})
    return probabilities, embedding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, required=True, help="musicnn-0.1.0-py3-none-any.whl")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        package_root = Path(folder)
        with zipfile.ZipFile(arguments.wheel) as wheel:
            wheel.extractall(package_root)
        checkpoint = package_root / CHECKPOINT
        variables = read_variables(checkpoint)
        OUT.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(OUT / "musicnn_msd.npz", **variables)
        shutil.copyfile(package_root / "musicnn-0.1.0.dist-info" / "LICENSE.md", OUT / "musicnn_msd.LICENSE")
        print(f"{len(variables)} variables, {sum(v.size for v in variables.values()):,} parameters")

        synthetic = synthetic_signals()
        inputs = {name: leading_patches(reference_log_mel(signal.astype(np.float32)), PATCHES_PER_CLIP)
                  for name, signal in synthetic.items()}
        real = [clip for clip in REAL_CLIPS if (arguments.data / clip).is_file()]
        for clip in real:
            inputs[clip] = leading_patches(reference_log_mel(load_track(arguments.data / clip, AUDIO.sample_rate)),
                                           PATCHES_PER_CLIP)
        patches = np.concatenate(list(inputs.values()))
        probabilities, embedding = tensorflow_outputs(package_root, checkpoint, patches)
    reference = {
        "synthetic_names": np.array(list(synthetic)),
        "synthetic_patches": np.concatenate([inputs[name] for name in synthetic]),
        "real_clips": np.array(real),
        "tags": probabilities,
        "penultimate": embedding,
        "patches_per_clip": np.array(PATCHES_PER_CLIP),
    }
    np.savez_compressed(OUT / "musicnn_msd_reference.npz", **reference)
    print(f"reference outputs for {len(synthetic)} synthetic and {len(real)} real clips, 2 patches each")


if __name__ == "__main__":
    main()
