"""A simulated multi-subject EEG cohort whose subjects can be told apart, for privacy audits.

:func:`simulate_cohort` returns resting-state-like epochs of several subjects. Every subject
has its own anatomy and physiology, the features by which EEG identifies its subject: the scalp
patterns of its rhythms (sources placed at a subject-specific offset from a common site), the
peak frequency and strength of each rhythm, the ``1/f`` exponent of its background activity and
the noise level of each electrode. The subject audit of
:func:`~mne_dualdiv.metrics.subject_linkage` is tested and documented on it (``docs/privacy.md``).
"""

import numpy as np
from scipy import signal

from .._checks import check_bool, check_float, check_int, check_random_state
from ._bundled import _make_montage, _to_epochs

#: Sixteen sites of the 10-05 system from frontal to occipital (names of the FingerMovements
#: description), so that every rhythm below has channels near its source.
COHORT_CH_NAMES = ("F3", "Fz", "F4", "FC3", "FCz", "FC4", "C3", "C1", "Cz", "C2", "C4", "CP3",
                   "CPz", "CP4", "O1", "O2")
#: The rhythms: the sites whose mean position is the source's common location, and the range
#: of its subject-specific peak frequency (Hz): frontal theta, occipital alpha, left mu and
#: right beta.
RHYTHMS = {"theta": (("Fz",), (4.0, 7.0)), "alpha": (("O1", "O2"), (8.0, 12.0)),
           "mu": (("C3",), (9.0, 13.0)), "beta": (("C4",), (16.0, 24.0))}
#: Standard deviation (m, per axis) of a subject's offset of each source from its common
#: location, and the range of the width of its scalp pattern (m): anatomy moves sources by
#: about a centimetre between subjects, about the spacing of the 10-05 sites.
SOURCE_OFFSET_M = 0.012
PATTERN_WIDTH_M = (0.03, 0.05)
#: Pole radius of the resonators that make the rhythms (AR(2) filters of white noise): a peak
#: about 1 Hz wide at 100 Hz.
RESONANCE_RADIUS = 0.96
#: Median amplitude (µV) of each part of the signal: rhythms, background and electrode noise.
RHYTHM_UV, BACKGROUND_UV, ELECTRODE_UV = 6.0, 6.0, 2.0
#: Log-normal spread of a subject's rhythm amplitudes, and of an epoch's around its subject's.
SUBJECT_AMPLITUDE_SD, EPOCH_AMPLITUDE_SD = 0.3, 0.25
#: Range of the subjects' background spectral exponents (``1/f**alpha`` power) and the length
#: (m) over which the background's correlation between electrodes decays (``exp(-d / l)``).
BACKGROUND_ALPHA = (1.0, 2.0)
BACKGROUND_LENGTH_M = 0.05
#: Range of a subject's factor on each electrode's noise level (impedances differ).
ELECTRODE_LEVEL = (0.5, 1.5)
#: Samples simulated before each epoch and dropped, so that the resonators are in their
#: stationary state (about five decay times, ``1 / (1 - RESONANCE_RADIUS)`` samples each).
_BURN_IN = 128
_MICROVOLT = 1e-6


def _positions(ch_names):
    """Head-frame positions (m) of ``ch_names`` on the standard 10-05 montage."""
    positions = _make_montage("standard_1005").get_positions()["ch_pos"]
    return np.array([positions[name] for name in ch_names])


def _subject_model(rng, positions, sfreq):
    """A subject's scalp patterns, rhythm filters and amplitudes, background and noise levels.

    ``positions`` are those of ``COHORT_CH_NAMES``, in that order.
    """
    montage_positions = dict(zip(COHORT_CH_NAMES, positions))
    patterns, filters, amplitudes = [], [], []
    for sites, (low, high) in RHYTHMS.values():
        centre = np.mean([montage_positions[site] for site in sites], axis=0)
        centre = centre + rng.normal(0.0, SOURCE_OFFSET_M, size=3)
        width = rng.uniform(*PATTERN_WIDTH_M)
        pattern = np.exp(-((positions - centre) ** 2).sum(1) / (2 * width ** 2))
        patterns.append(pattern / pattern.max())
        peak = rng.uniform(low, high)
        filters.append([1.0, -2 * RESONANCE_RADIUS * np.cos(2 * np.pi * peak / sfreq),
                        RESONANCE_RADIUS ** 2])
        amplitudes.append(RHYTHM_UV * rng.lognormal(0.0, SUBJECT_AMPLITUDE_SD))
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    return dict(patterns=np.array(patterns).T, filters=filters, amplitudes=np.array(amplitudes),
                alpha=rng.uniform(*BACKGROUND_ALPHA),
                mixing=np.linalg.cholesky(np.exp(-distances / BACKGROUND_LENGTH_M)),
                electrode_levels=ELECTRODE_UV * rng.uniform(*ELECTRODE_LEVEL, len(positions)))


def _background(rng, model, n_epochs, n_channels, n_times, sfreq):
    """Spatially correlated ``1/f**alpha`` noise of unit variance per channel, mixed."""
    white = rng.standard_normal((n_epochs, n_channels, n_times))
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    amplitude = np.maximum(freqs, 1.0) ** (-model["alpha"] / 2)
    coloured = np.fft.irfft(np.fft.rfft(white, axis=-1) * amplitude, n_times, axis=-1)
    coloured /= coloured.std(axis=-1, keepdims=True).mean()
    return np.einsum("ij,ejt->eit", model["mixing"], coloured)


def _subject_epochs(rng, model, n_epochs, n_channels, n_times, sfreq):
    """``n_epochs`` epochs (µV) of one subject's model."""
    n_rhythms = len(model["filters"])
    drive = rng.standard_normal((n_epochs, n_rhythms, _BURN_IN + n_times))
    rhythms = np.stack([signal.lfilter([1.0], coefficients, drive[:, k], axis=-1)
                        for k, coefficients in enumerate(model["filters"])], axis=1)
    rhythms = rhythms[..., _BURN_IN:]
    rhythms /= rhythms.std(axis=-1, keepdims=True).mean(axis=0, keepdims=True)
    gains = model["amplitudes"] * rng.lognormal(0.0, EPOCH_AMPLITUDE_SD, (n_epochs, n_rhythms))
    data = np.einsum("cr,ert->ect", model["patterns"], gains[..., None] * rhythms)
    data += BACKGROUND_UV * _background(rng, model, n_epochs, n_channels, n_times, sfreq)
    data += model["electrode_levels"][:, None] * rng.standard_normal(data.shape)
    return data


def simulate_cohort(n_subjects=8, n_epochs=40, n_times=100, sfreq=100.0, return_epochs=True,
                    random_state=0):
    """Simulate resting-state EEG epochs of a cohort whose subjects can be told apart.

    Each subject has four rhythms (frontal theta, occipital alpha, left mu, right beta) with
    scalp patterns around subject-specific source locations and subject-specific peak
    frequencies and amplitudes, spatially correlated ``1/f`` background activity with a
    subject-specific exponent, and electrode noise with subject-specific levels. Epochs of one
    subject differ by their random time courses and by the rhythms' amplitudes. The constants
    of the model are the module's (``RHYTHMS``, ``SOURCE_OFFSET_M``, ...).

    Parameters
    ----------
    n_subjects : int
        Number of subjects (at least 1).
    n_epochs : int
        Epochs per subject (at least 1).
    n_times : int
        Samples per epoch (at least 8).
    sfreq : float
        Sampling frequency in Hz; at least 50 Hz, so that the beta rhythm (up to 24 Hz) lies
        below Nyquist.
    return_epochs : bool
        Return an :class:`mne.EpochsArray` when True, a tuple ``(X, subjects)`` otherwise.
    random_state : None | int | numpy.random.Generator
        Seed of every draw. Subject ``s`` is drawn from its own stream, so that its model does
        not depend on ``n_subjects`` and its epochs do not depend on the other subjects'.

    Returns
    -------
    epochs : mne.EpochsArray
        When ``return_epochs`` is True: values in volts on the 16 EEG channels
        ``COHORT_CH_NAMES`` with the ``standard_1005`` montage, ``tmin=0``, one condition
        ``event_id={"rest": 1}``, ``metadata`` with columns ``subject`` (``'sub-01'``, ...) and
        ``epoch`` (the index within the subject), subjects one after the other.
    X, subjects : tuple of ndarray
        When ``return_epochs`` is False: ``X`` of float64 in volts, shape
        ``(n_subjects * n_epochs, 16, n_times)``, and the subject of each epoch.
    """
    n_subjects = check_int("n_subjects", n_subjects, minimum=1)
    n_epochs = check_int("n_epochs", n_epochs, minimum=1)
    n_times = check_int("n_times", n_times, minimum=8)
    sfreq = check_float("sfreq", sfreq, low=50.0)
    check_bool("return_epochs", return_epochs)
    root = int(check_random_state(random_state).integers(2 ** 32))
    positions = _positions(COHORT_CH_NAMES)
    data, subjects = [], []
    for subject in range(n_subjects):
        model = _subject_model(np.random.default_rng([root, subject, 0]), positions, sfreq)
        data.append(_subject_epochs(np.random.default_rng([root, subject, 1]), model, n_epochs,
                                    len(positions), n_times, sfreq))
        subjects += [f"sub-{subject + 1:02d}"] * n_epochs
    X, subjects = np.concatenate(data) * _MICROVOLT, np.array(subjects)
    if not return_epochs:
        return X, subjects
    spec = dict(ch_names=COHORT_CH_NAMES, sfreq=sfreq, tmin=0.0, event_id={"rest": 1},
                montage="standard_1005")
    description = (f"mne_dualdiv.datasets.simulate_cohort(n_subjects={n_subjects}, n_epochs="
                   f"{n_epochs}, n_times={n_times}, sfreq={sfreq:g}, random_state="
                   f"{random_state!r}): simulated resting-state EEG, subject-specific rhythms, "
                   "patterns, background and electrode noise")
    trials = np.tile(np.arange(n_epochs), n_subjects)
    return _to_epochs(X, ["rest"] * len(X), None, trials, spec, description,
                      metadata={"subject": subjects, "epoch": trials})
