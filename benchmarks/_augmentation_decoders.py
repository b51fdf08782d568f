"""The augmentation benchmark's decoders, each trained the same way in every condition.

- ``eegnet``, ``shallow``: braindecode's ``EEGNet`` and ``ShallowFBCSPNet``, trained by
  :data:`RECIPE` (plain torch loop, no early stopping, the last epoch's weights scored);
- ``riemann``: pyriemann ``Covariances(estimator="oas")`` → ``TangentSpace`` →
  ``LogisticRegression``;
- ``vectorizer``: the package's default pipeline,
  :func:`mne_dualdiv.metrics.default_classifier` (``Vectorizer`` → ``StandardScaler`` →
  ``LogisticRegression``).
"""

import importlib.machinery
import sys
import types

import numpy as np

DECODERS = ("eegnet", "shallow", "riemann", "vectorizer")
DEEP_DECODERS = ("eegnet", "shallow")

#: The deep nets' training recipe, the same for every data set, size and augmentation: AdamW,
#: cross-entropy, shuffled mini-batches, a fixed number of passes over the training set (real
#: and augmented epochs together, so an augmented set of twice the size gets twice the steps,
#: as for a user who trains for a fixed number of epochs). Inputs are z-scored per channel
#: with the mean and standard deviation of the training set the decoder is given.
RECIPE = dict(train_epochs=100, lr=1e-3, weight_decay=1e-2, batch_size=32)


class _TorchaudioStub(types.ModuleType):
    """A stand-in for ``torchaudio``: names resolve to classes that refuse to be used."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*args, **kwargs):
            raise ImportError(f"torchaudio.{name} is stubbed out in this benchmark")

        return type(name, (), {"__init__": unavailable})


def import_braindecode():
    """``braindecode.models`` and ``braindecode.augmentation``, importable without torchaudio.

    braindecode installs a torchaudio built for CUDA that fails to load next to the CPU torch
    of these machines, and its models package imports torchaudio at import time although
    neither EEGNet, ShallowFBCSPNet nor the four transforms use it. Unless a working
    torchaudio is installed, a stub is put in ``sys.modules`` first: it lives in this
    benchmark only, never in the package.
    """
    try:
        import torchaudio.functional  # noqa: F401
    except (ImportError, OSError):
        for name in ("torchaudio", "torchaudio.functional", "torchaudio.transforms"):
            module = _TorchaudioStub(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
            module.__path__ = []
            sys.modules[name] = module
        for sub in ("functional", "transforms"):
            setattr(sys.modules["torchaudio"], sub, sys.modules[f"torchaudio.{sub}"])
    import braindecode.augmentation
    import braindecode.models

    return braindecode.models, braindecode.augmentation


def make_network(name, n_chans, n_outputs, n_times, sfreq):
    """An untrained EEGNet or ShallowFBCSPNet sized to the data.

    The kernel and pooling lengths of braindecode's defaults are given in samples at the
    sampling rate they were designed for (EEGNet 128 Hz, ShallowFBCSPNet 250 Hz); they are
    scaled to the data's rate, so that they cover the same durations.
    """
    models, _ = import_braindecode()
    if name == "eegnet":
        model_class = getattr(models, "EEGNetv4", None) or models.EEGNet
        scale = sfreq / 128.0
        return model_class(n_chans=n_chans, n_outputs=n_outputs, n_times=n_times,
                           kernel_length=max(2, round(64 * scale)),
                           depthwise_kernel_length=max(2, round(16 * scale)))
    scale = sfreq / 250.0
    return models.ShallowFBCSPNet(n_chans=n_chans, n_outputs=n_outputs, n_times=n_times,
                                  filter_time_length=max(2, round(25 * scale)),
                                  pool_time_length=max(2, round(75 * scale)),
                                  pool_time_stride=max(1, round(15 * scale)),
                                  final_conv_length="auto")


def _fit_predict_network(name, X_train, y_train, X_test, sfreq, seed, recipe):
    import torch

    mean = X_train.mean(axis=(0, 2), keepdims=True)
    std = X_train.std(axis=(0, 2), keepdims=True) + 1e-20
    classes, codes = np.unique(y_train, return_inverse=True)
    inputs = torch.as_tensor((X_train - mean) / std, dtype=torch.float32)
    targets = torch.as_tensor(codes, dtype=torch.long)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = make_network(name, X_train.shape[1], len(classes), X_train.shape[2], sfreq)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe["lr"],
                                  weight_decay=recipe["weight_decay"])
    batch_size = recipe["batch_size"]
    model.train()
    for _ in range(recipe["train_epochs"]):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if len(batch) < 2:  # batch norm needs two examples
                continue
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        test = torch.as_tensor((X_test - mean) / std, dtype=torch.float32)
        logits = torch.cat([model(test[i:i + 256]) for i in range(0, len(test), 256)])
    return classes[logits.argmax(dim=1).numpy()]


def _to_microvolts(X):
    # Covariances of volts are ~1e-12: µV keeps the tangent space's logarithms well scaled.
    return X * 1e6


def make_classifier(name):
    """The scikit-learn decoders: ``riemann`` or ``vectorizer``."""
    if name == "vectorizer":
        from mne_dualdiv.metrics import default_classifier

        return default_classifier()
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(_to_microvolts), Covariances(estimator="oas"),
                         TangentSpace(), LogisticRegression(max_iter=1000))


def fit_predict(name, X_train, y_train, X_test, sfreq, seed, recipe=RECIPE):
    """Train the decoder ``name`` on ``(X_train, y_train)`` and predict the labels of ``X_test``."""
    if name in DEEP_DECODERS:
        return _fit_predict_network(name, X_train, y_train, X_test, sfreq, seed, recipe)
    return make_classifier(name).fit(X_train, y_train).predict(X_test)
