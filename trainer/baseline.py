"""The classical baseline: per-track MFCC, chroma and spectral-contrast statistics with an RBF SVM.

On data this small it is a strong opponent, so every CNN is measured against it on the same split.
"""

from __future__ import annotations

from collections.abc import Callable

import librosa
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from trainer.data.prepare import PreparedData

Log = Callable[[str], None]


def track_features(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean and standard deviation over time of 20 MFCCs, 12 chroma bins and 7 contrast bands."""
    mfcc = librosa.feature.mfcc(y=waveform, sr=sample_rate, n_mfcc=20)
    chroma = librosa.feature.chroma_stft(y=waveform, sr=sample_rate)
    contrast = librosa.feature.spectral_contrast(y=waveform, sr=sample_rate)
    frames = np.vstack([mfcc, chroma, contrast])
    return np.concatenate([frames.mean(axis=1), frames.std(axis=1)])


def fit_and_score(data: PreparedData, sample_rate: int, log: Log, seed: int = 0) -> dict:
    """Tune C and gamma by cross-validation on the training tracks only; score top-1 on test tracks."""
    def features(side: str) -> tuple[np.ndarray, np.ndarray]:
        split = data.sides[side]
        return np.stack([track_features(w, sample_rate) for w in split.waveforms]), split.targets.argmax(axis=1)

    train_x, train_y = features("train")
    test_x, test_y = features("test")
    folds = min(5, int(np.bincount(train_y).min()))
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SVC(kernel="rbf")),
        {"svc__C": [0.3, 1, 3, 10, 30, 100], "svc__gamma": ["scale", 0.003, 0.01, 0.03]},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed), scoring="accuracy",
    )
    search.fit(train_x, train_y)
    log(f"baseline SVM: best {search.best_params_}, cross-validated accuracy {search.best_score_:.3f}")
    predictions = search.predict(test_x)
    return {"test_top1_accuracy": float(np.mean(predictions == test_y)), "parameters": search.best_params_,
            "cv_accuracy": float(search.best_score_), "test_predictions": predictions}
