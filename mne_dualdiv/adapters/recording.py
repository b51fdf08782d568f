"""SpikeInterface recordings in, lazy synthetic recordings out: :class:`RecordingSynthesizer`.

The recording is cut into channel x time *windows* (all channels, ``window_size`` samples,
64 by default: 2.1 ms at 30 kHz); a bounded number of them (``max_windows``), at random
non-overlapping positions, are read chunk by chunk with ``get_traces(return_in_uV=False)`` and
given to the engine. A synthetic recording (:class:`SyntheticRecording`) is a lazy
``BaseRecording``: its frames are synthetic windows laid on a regular grid (one every
``window_size - overlap_size`` samples) and crossfaded over ``overlap_size`` samples, computed
block by block only for the frames that ``get_traces`` asks for.

What survives, field by field, from the fitted recording to every synthetic one:

=======================  ===============================================================
field                    how
=======================  ===============================================================
channel ids and order    the same
sampling frequency       the same
dtype                    the same: the engine learns the stored (raw) values; integer
                         dtypes are rounded and clipped to their range
gains and offsets        the same ``gain_to_uV`` / ``offset_to_uV`` (and physical-unit)
                         properties, so ``get_traces(return_in_uV=True)`` gives µV
probe / probe group      the same ``ProbeGroup`` (contacts, shanks, device channel
                         indices), hence the same channel locations
channel properties       every property (``group``, ``channel_name``, ...) except the
                         noise levels measured on the real data
annotations              every JSON-serialisable annotation, ``is_filtered`` included
segments and durations   chosen at ``sample``; segment times start at 0
=======================  ===============================================================

Nothing else of the real recording (its traces, its spike times, its segment start times) is
copied. The fitted synthesizer itself holds real windows (the engine walks from them): keep its
file private and share the folder written by ``synthetic.save(folder=...)``.
"""

import functools
import json
import math
import numbers
import threading
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from .._version import __version__
from .._checks import (check_float, check_fname_for_reading, check_fname_for_writing, check_int,
                       check_random_state)
from .._io import load_state, save_state, state_json
from .._logging import logger, use_verbose
from ..engine import DualDivergenceGenerator
from ..engine.dualspace import distance_ratios
from ..metrics.privacy import privacy_scores
from ._conditions import check_template

try:
    from spikeinterface.core import BaseRecording, BaseRecordingSegment
except ImportError as err:  # pragma: no cover - the ephys extra is missing
    raise ImportError("mne_dualdiv.adapters.recording needs spikeinterface and probeinterface: "
                      "pip install 'mne_dualdiv[ephys]'") from err

_FORMAT = "mne_dualdiv.RecordingSynthesizer"
#: 2: the state is wrapped with a SHA-256 digest (``mne_dualdiv._io``); 1 is no longer read.
_FORMAT_VERSION = 2
#: Window length in samples when ``window_duration`` is None (2.1 ms at 30 kHz). Up to 127
#: samples the engine's first filter bank runs with stride 1, at full temporal resolution.
DEFAULT_WINDOW_SIZE = 64
#: Engine settings used when no ``generator`` template is given (docs/recording.md gives the
#: measurements behind them). With the engine's default walk (100 steps of noise 0.1) nearly
#: every walk on extracellular windows ends as a near-copy of its start and is rejected; 20
#: steps of noise 0.7 pass the near-copy guard, keep the membership-inference AUC near 0.5
#: however many windows are made, and cost 30 instead of 110 gradient steps per window.
RECORDING_GENERATOR_PARAMS = dict(n_bridges=8, walk_steps=20, walk_noise=0.7)
#: Synthetic windows per block: the unit of seeded generation and of the block cache.
BLOCK_WINDOWS = 64
#: Entropy word that tells the pool's seed apart from the blocks' seeds.
_POOL_KEY = 0x706F6F6C


# ---------------------------------------------------------------------------------- metadata
def _encode_array(values, name):
    """A property array as a JSON-serialisable dict (dtype and values)."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        values = values.astype(str)
    if values.dtype.kind not in "biufU":
        raise TypeError(f"{name} has dtype {values.dtype}, which cannot be stored")
    return dict(dtype=values.dtype.str, values=values.tolist())


def _decode_array(encoded):
    return np.array(encoded["values"], dtype=np.dtype(encoded["dtype"]))


def _json_value(value):
    """``value`` as plain JSON types, or raise TypeError."""
    def default(obj):
        if isinstance(obj, (np.generic, np.ndarray)):
            return obj.tolist()
        raise TypeError(type(obj).__name__)
    return json.loads(json.dumps(value, default=default))


def _recording_metadata(recording):
    """Everything of ``recording`` that a synthetic recording keeps, as JSON types."""
    properties = {}
    for key in recording.get_property_keys():
        if key in BaseRecording._skip_properties:
            continue  # noise levels measured on the real traces do not describe synthetic ones
        try:
            properties[key] = _encode_array(recording.get_property(key), f"property {key!r}")
        except TypeError as err:
            logger.warning("The channel property %r is not kept: %s.", key, err)
    annotations = {}
    for key in recording.get_annotation_keys():
        if key == "name":
            continue
        try:
            annotations[key] = _json_value(recording.get_annotation(key))
        except TypeError as err:
            logger.warning("The annotation %r is not kept: it holds a %s.", key, err)
    probegroup = (_json_value(recording.get_probegroup().to_dict(array_as_list=True))
                  if recording.has_probe() else None)
    return dict(channel_ids=_encode_array(recording.channel_ids, "channel_ids"),
                sampling_frequency=float(recording.sampling_frequency),
                dtype=np.dtype(recording.get_dtype()).str, probegroup=probegroup,
                properties=properties, annotations=annotations)


def _apply_metadata(recording, metadata):
    """Attach the probe group, properties and annotations of ``metadata`` to ``recording``."""
    from probeinterface import ProbeGroup

    if metadata["probegroup"] is not None:
        # The stored probe group is already in channel order; the properties below restore
        # the original 'group' values that set_probegroup would otherwise derive.
        recording.set_probegroup(ProbeGroup.from_dict(metadata["probegroup"]),
                                 check_overlap=False)
    for key, encoded in metadata["properties"].items():
        recording.set_property(key, _decode_array(encoded))
    recording.annotate(**metadata["annotations"])


# ---------------------------------------------------------------------------------- checks
def _check_recording(recording, name="recording"):
    if not isinstance(recording, BaseRecording):
        raise TypeError(f"{name} must be a spikeinterface BaseRecording, got "
                        f"{type(recording).__name__} instead.")
    return recording


def _check_durations(durations, name="durations"):
    """One positive duration in seconds per segment, as a list of floats."""
    if isinstance(durations, (numbers.Real, np.floating)) and not isinstance(durations, bool):
        durations = [durations]
    if not isinstance(durations, (list, tuple, np.ndarray)) or len(durations) == 0:
        raise TypeError(f"{name} must be a positive number of seconds or a non-empty list of "
                        f"them (one per segment), got {durations!r} instead.")
    return [check_float(f"{name}[{i}]", d, low=0, low_inclusive=False)
            for i, d in enumerate(durations)]


def _check_pool_size(pool_size):
    return None if pool_size is None else check_int("pool_size", pool_size, minimum=1)


def _seed_from(random_state):
    """An int seed (stored in a recording's kwargs) from None, an int or a Generator."""
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
            random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}.")
        return int(random_state)
    return int(check_random_state(random_state).integers(2**63))


def _taper(window_size, overlap_size):
    """Equal-power crossfade weights of one window: sine up, flat, cosine down.

    In an overlap the falling weight of one window and the rising weight of the next have
    squares that add up to 1, so the sum of two independent windows keeps their variance.
    """
    taper = np.ones(window_size, dtype=np.float32)
    if overlap_size:
        phase = (np.arange(overlap_size) + 0.5) / overlap_size * (np.pi / 2)
        taper[:overlap_size] = np.sin(phase)
        taper[window_size - overlap_size:] = np.cos(phase)
    return taper


def _cast(traces, dtype):
    """Float traces to ``dtype``, rounded and clipped to its range when it is an integer."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(traces), info.min, info.max).astype(dtype)
    return traces.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------- windows
class _WindowSource:
    """Synthetic windows of a fitted synthesizer, block by block, and their stitched frames.

    Window ``k`` of a segment covers frames ``[k * hop, k * hop + window_size)``; block ``b``
    holds windows ``b * BLOCK_WINDOWS`` to ``(b + 1) * BLOCK_WINDOWS - 1`` and depends only on
    ``(seed, segment_index, b)``, so any frame range is reproducible on its own. With a pool,
    a block draws its windows from ``pool_size`` windows generated once (seeded by ``seed``);
    without, the engine generates every block's windows.
    """

    def __init__(self, synthesizer, seed, pool_size, pool=None):
        self.generator = synthesizer.generator_
        self.window_size = synthesizer.window_size_
        self.overlap_size = synthesizer.overlap_size_
        self.hop = self.window_size - self.overlap_size
        self.center = self.generator.scaler_.center_.astype(np.float32)
        self.taper = _taper(self.window_size, self.overlap_size)
        self.seed, self.pool_size = seed, pool_size
        self.pool = pool
        if pool_size is not None and pool is None:
            self.pool = self.generate(pool_size, [seed, _POOL_KEY])
        self._blocks, self._lock = OrderedDict(), threading.Lock()

    def generate(self, n_windows, entropy):
        """``n_windows`` engine samples seeded by ``entropy``, as float32 (n, channels, times)."""
        return self.generator.sample(n_windows, random_state=np.random.default_rng(entropy)
                                     ).astype(np.float32)

    def block(self, segment_index, block_index):
        key = (segment_index, block_index)
        with self._lock:
            if key in self._blocks:
                self._blocks.move_to_end(key)
                return self._blocks[key]
        entropy = [self.seed, segment_index, block_index]
        if self.pool is None:
            windows = self.generate(BLOCK_WINDOWS, entropy)
        else:
            rows = np.random.default_rng(entropy).integers(0, self.pool_size, BLOCK_WINDOWS)
            windows = self.pool[rows]
        with self._lock:
            self._blocks[key] = windows
            while len(self._blocks) > 4:  # the blocks at both ends of a chunk, and a spare
                self._blocks.popitem(last=False)
        return windows

    def frames(self, segment_index, start_frame, end_frame):
        """Frames ``[start_frame, end_frame)`` as float32 (n_frames, n_channels), raw units."""
        n_frames = end_frame - start_frame
        out = np.zeros((n_frames, len(self.center)), dtype=np.float32)
        if n_frames <= 0:
            return out
        power = np.zeros(n_frames, dtype=np.float32)
        first = max(0, -(-(start_frame - self.window_size + 1) // self.hop))
        last = (end_frame - 1) // self.hop
        for k in range(first, last + 1):
            window_start = k * self.hop
            lo, hi = max(start_frame, window_start), min(end_frame, window_start + self.window_size)
            window = self.block(segment_index, k // BLOCK_WINDOWS)[k % BLOCK_WINDOWS]
            taper = self.taper[lo - window_start:hi - window_start]
            # Crossfade deviations from the channel centres, so that offsets do not add up.
            out[lo - start_frame:hi - start_frame] += taper[:, None] * (
                window[:, lo - window_start:hi - window_start].T - self.center)
            power[lo - start_frame:hi - start_frame] += taper ** 2
        out /= np.sqrt(power)[:, None]
        out += self.center
        return out


# ---------------------------------------------------------------------------------- estimator
class RecordingSynthesizer(BaseEstimator):
    """Learn a SpikeInterface recording from a bounded set of windows; make lazy synthetic ones.

    ``fit`` reads ``max_windows`` channel x time windows at random, non-overlapping positions
    of any ``BaseRecording``, chunk by chunk (never the whole recording), in its stored units
    (``return_in_uV=False``), and fits a :class:`~mne_dualdiv.DualDivergenceGenerator` on them.
    ``sample`` returns a :class:`SyntheticRecording`: a lazy recording with the same channels,
    probe, gains, offsets, properties and annotations, whose frames are made block by block,
    from a seed, only when ``get_traces`` asks for them. The module docstring of
    ``mne_dualdiv.adapters.recording`` lists what survives.

    Parameters
    ----------
    window_duration : None | float
        Window length in seconds; ``None`` means 64 samples (2.1 ms at 30 kHz: the main phase
        of an extracellular spike, at full temporal resolution of the engine's filters).
    overlap : float
        Fraction of a window, in [0, 0.5], crossfaded with each neighbour in synthetic
        recordings (0 lays windows end to end).
    max_windows : int
        Most real windows read (at least 20, the engine's minimum). All channels of a window
        form one image; 20 % of the windows are held out by the engine.
    generator : None | DualDivergenceGenerator
        Engine settings, as an unfitted template (cloned, never fitted itself; its
        ``random_state`` is replaced by a seed drawn from ``random_state``). ``None`` uses
        ``DualDivergenceGenerator(**RECORDING_GENERATOR_PARAMS)``. Reachable as
        ``generator__<name>`` by ``get_params`` / ``set_params``.
    chunk_duration : float
        Longest stretch, in seconds, read by one ``get_traces`` call in ``fit``.
    random_state : None | int | numpy.random.Generator
        Seed of the window positions and of the engine's fit.
    verbose : None | bool | str | int
        Logging level; ``None`` keeps the current one.

    Attributes
    ----------
    generator_ : DualDivergenceGenerator
        The fitted engine (images of ``n_channels x window_size_``, in raw units).
    window_size_, overlap_size_ : int
        Window and crossfade lengths in samples.
    window_positions_ : ndarray of int, shape (n_windows, 2)
        Segment index and first frame of every real window read, in the engine's row order.
    channel_ids_ : ndarray
        Channel ids of the fitted recording.
    sampling_frequency_ : float
        Its sampling frequency.
    dtype_ : numpy.dtype
        Its dtype.

    See Also
    --------
    SyntheticRecording : The lazy recording made by :meth:`sample`.
    read_recording_synthesizer : Read a synthesizer written by :meth:`save`.

    Notes
    -----
    The engine walks from real windows, so the fitted synthesizer (and its file) holds real
    data; a synthetic recording made from it holds none. :meth:`privacy_report` measures how
    close its windows come to the real training windows. See ``docs/recording.md`` for the
    window length, the crossfade and measured privacy, speed and memory.
    """

    def __init__(self, window_duration=None, overlap=0.25, max_windows=500, generator=None,
                 chunk_duration=1.0, random_state=None, verbose=None):
        self.window_duration = window_duration
        self.overlap = overlap
        self.max_windows = max_windows
        self.generator = generator
        self.chunk_duration = chunk_duration
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _template(self):
        if self.generator is None:
            return DualDivergenceGenerator(**RECORDING_GENERATOR_PARAMS)
        return check_template(self.generator)

    def _window_sizes(self, sampling_frequency):
        if self.window_duration is None:
            window_size = DEFAULT_WINDOW_SIZE
        else:
            duration = check_float("window_duration", self.window_duration, low=0,
                                   low_inclusive=False)
            window_size = int(round(duration * sampling_frequency))
        if window_size < 4:
            raise ValueError(f"window_duration={self.window_duration} gives {window_size} "
                             f"sample(s) at {sampling_frequency} Hz; windows need at least 4.")
        overlap = check_float("overlap", self.overlap, low=0, high=0.5)
        return window_size, int(round(overlap * window_size))

    def fit(self, recording, y=None):
        """Read a bounded number of windows of ``recording`` and fit the engine on them.

        Parameters
        ----------
        recording : spikeinterface BaseRecording
            Any recording (lazy or not, one or more segments). Never modified; read only
            through ``get_traces`` on stretches of at most ``chunk_duration`` seconds.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : RecordingSynthesizer
            The fitted synthesizer.
        """
        recording = _check_recording(recording)
        template = self._template()
        max_windows = check_int("max_windows", self.max_windows, minimum=20)
        chunk_duration = check_float("chunk_duration", self.chunk_duration, low=0,
                                     low_inclusive=False)
        rng = check_random_state(self.random_state)
        sampling_frequency = float(recording.sampling_frequency)
        window_size, overlap_size = self._window_sizes(sampling_frequency)
        with use_verbose(self.verbose):
            positions = self._draw_positions(recording, window_size, max_windows, rng)
            windows = _read_windows(recording, positions, window_size,
                                    max(window_size, int(chunk_duration * sampling_frequency)))
            logger.info("Fitting the engine on %d windows of %d channels x %d samples",
                        len(windows), windows.shape[1], window_size)
            params = dict(random_state=int(rng.integers(2**31)))
            if self.verbose is not None:
                params["verbose"] = self.verbose
            self.generator_ = clone(template).set_params(**params).fit(windows)
        self.window_size_, self.overlap_size_ = window_size, overlap_size
        self.window_positions_ = positions
        self._windows = windows.astype(np.float32)
        self._metadata = _recording_metadata(recording)
        self.channel_ids_ = _decode_array(self._metadata["channel_ids"])
        self.sampling_frequency_ = sampling_frequency
        self.dtype_ = np.dtype(self._metadata["dtype"])
        self._file_path = None
        return self

    @staticmethod
    def _draw_positions(recording, window_size, max_windows, rng):
        """Random non-overlapping window slots over all segments, in reading order."""
        slots = [recording.get_num_samples(segment_index=s) // window_size
                 for s in range(recording.get_num_segments())]
        total = sum(slots)
        if total < 20:
            raise ValueError(
                f"The recording holds {total} windows of {window_size} samples; the engine needs "
                "at least 20. Use a longer recording or a shorter window_duration."
            )
        chosen = np.sort(rng.choice(total, size=min(max_windows, total), replace=False))
        offsets = np.cumsum([0] + slots)
        segments = np.searchsorted(offsets, chosen, side="right") - 1
        return np.column_stack([segments, (chosen - offsets[segments]) * window_size])

    def _check_fitted(self, what):
        if not hasattr(self, "generator_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call "
                               f"fit(recording) before {what}.")

    # ------------------------------------------------------------------ sample
    def sample(self, durations, random_state=None, pool_size=128, file_path=None):
        """Make a lazy synthetic recording.

        Parameters
        ----------
        durations : float | list of float
            Duration in seconds of the single segment, or of each segment.
        random_state : None | int | numpy.random.Generator
            Seed of the recording (an int is used as is; otherwise one is drawn). The same
            seed gives the same traces, frame by frame.
        pool_size : None | int
            Number of distinct synthetic windows, generated once by the engine when the
            recording is created; every block of the recording is a seeded arrangement of them.
            ``None`` generates every block's windows with the engine when it is asked for
            (no window repeats, but generation then costs engine time per second of
            recording). A pool also bounds what the windows can reveal: see
            :meth:`privacy_report` and ``docs/recording.md``.
        file_path : None | str | path-like
            The synthesizer's file, which the recording needs to be re-created from its kwargs
            (``dump``/``load``, worker processes). ``None`` uses the file written by
            :meth:`save` or read by :func:`read_recording_synthesizer`, or else writes one once
            into SpikeInterface's temporary folder; another path is written by :meth:`save`
            (an existing file is never replaced). Keep it private: it holds real windows.

        Returns
        -------
        recording : SyntheticRecording
            The lazy recording.
        """
        self._check_fitted("sample")
        durations = _check_durations(durations)
        pool_size = _check_pool_size(pool_size)
        seed = _seed_from(random_state)
        if file_path is None:
            file_path = self._ensure_file()
        elif Path(file_path).resolve() != self._file_path:
            self.save(file_path)  # refuses to replace another file
            file_path = self._file_path
        with use_verbose(self.verbose):
            return SyntheticRecording(file_path, durations, seed, pool_size=pool_size)

    def _ensure_file(self):
        if self._file_path is None or not Path(self._file_path).is_file():
            from spikeinterface.core import get_global_tmp_folder

            folder = Path(get_global_tmp_folder()) / "mne_dualdiv"
            folder.mkdir(parents=True, exist_ok=True)
            self.save(folder / f"recording_synthesizer_{uuid.uuid4().hex}.pt")
        return Path(self._file_path)

    def _synthesize(self, durations, random_state=None, pool_size=128):
        """Traces of a whole synthetic recording in memory: one (n_frames, n_channels) array
        of ``dtype_`` per segment (for adapters that need arrays, such as neo's)."""
        self._check_fitted("sample")
        durations = _check_durations(durations)
        source = _WindowSource(self, _seed_from(random_state), _check_pool_size(pool_size))
        return [_cast(source.frames(i, 0, int(round(d * self.sampling_frequency_))), self.dtype_)
                for i, d in enumerate(durations)]

    # ------------------------------------------------------------------ privacy
    def privacy_report(self, recording, n_windows=1024, random_state=None):
        """How close the windows of a synthetic recording come to the real training windows.

        Windows are cut from ``recording`` on the synthetic window grid (every
        ``window_size_ - overlap_size_`` frames, crossfaded edges included), in runs of one
        block, and compared with the real training and held-out windows of the engine, all in
        the engine's robust-scaled units (where its near-copy guard works).

        Parameters
        ----------
        recording : spikeinterface BaseRecording
            A synthetic recording made by this synthesizer (or any recording with the same
            channels and sampling frequency, for comparison).
        n_windows : int
            Number of windows cut from ``recording``.
        random_state : None | int | numpy.random.Generator
            Seed of the window positions.

        Returns
        -------
        report : PrivacyReport
            The same-pool membership scores (``docs/metrics.md``, "Privacy"): the engine's
            training windows are the members and its held-out windows, cut from the same
            recording and never trained on, the non-members.
        """
        self._check_fitted("privacy_report")
        recording = _check_recording(recording)
        n_windows = check_int("n_windows", n_windows, minimum=1)
        if recording.get_num_channels() != len(self.channel_ids_) or not math.isclose(
                recording.sampling_frequency, self.sampling_frequency_):
            raise ValueError(
                f"recording has {recording.get_num_channels()} channels at "
                f"{recording.sampling_frequency} Hz; the synthesizer was fitted on "
                f"{len(self.channel_ids_)} channels at {self.sampling_frequency_} Hz."
            )
        synthetic = _grid_windows(recording, self.window_size_,
                                  self.window_size_ - self.overlap_size_, n_windows,
                                  check_random_state(random_state))
        scaler = self.generator_.scaler_
        train = scaler.transform(self._windows[self.generator_.train_indices_])
        heldout = scaler.transform(self._windows[self.generator_.heldout_indices_])
        synthetic = scaler.transform(synthetic)
        scores = privacy_scores(train, heldout, synthetic, random_state=random_state)
        threshold = self.generator_.near_copy_threshold_
        near = distance_ratios(train, synthetic) < threshold
        return PrivacyReport(
            n_train=len(train), n_heldout=len(heldout), n_synthetic=len(synthetic),
            median_dcr_synthetic=scores["median_dcr_synthetic"],
            median_dcr_heldout=scores["median_dcr_nonmembers"], dcr_ratio=scores["dcr_ratio"],
            membership_inference_auc=scores["membership_inference_auc"], nndr=scores["nndr"],
            share_closer_to_members=scores["share_closer_to_members"],
            reference_membership_inference_auc=scores["reference_membership_inference_auc"],
            near_copy_threshold=float(threshold), fraction_near_copies=float(near.mean()))

    def fidelity_report(self, real, synthetic, **kwargs):
        """How SpikeInterface's own tools see a synthetic recording next to the real one.

        Delegates to :func:`mne_dualdiv.adapters.recording_fidelity.fidelity_report`: noise
        levels, peaks per second, peak amplitudes and their spread over the probe, power
        spectra and channel correlations of both recordings, computed the same way, side by
        side with their ratios. The synthesizer need not be fitted.

        Parameters
        ----------
        real : spikeinterface BaseRecording
            The real recording (typically the one this synthesizer was fitted on).
        synthetic : spikeinterface BaseRecording
            A synthetic recording (typically made by :meth:`sample`) with the same number of
            channels and sampling frequency.
        **kwargs
            ``freq_min``, ``freq_max``, ``detect_threshold``, ``duration``, ``random_state``,
            ``job_kwargs`` and ``privacy`` (a :class:`PrivacyReport` from
            :meth:`privacy_report` to show beside the figures) of that function.

        Returns
        -------
        report : RecordingFidelityReport
            The figures, with ``to_dict()`` and ``plot()``.
        """
        from .recording_fidelity import fidelity_report

        return fidelity_report(real, synthetic, **kwargs)

    # ------------------------------------------------------------------ I/O
    def _get_state(self):
        self._check_fitted("save")
        params = dict(window_duration=self.window_duration, overlap=self.overlap,
                      max_windows=self.max_windows, chunk_duration=self.chunk_duration,
                      verbose=self.verbose,
                      random_state=self.random_state if isinstance(self.random_state, int)
                      else None)
        template = None if self.generator is None else self.generator.get_params()
        if template is not None and not isinstance(template["random_state"], int):
            template["random_state"] = None  # a Generator object is not serialisable
        fitted = dict(window_size=self.window_size_, overlap_size=self.overlap_size_)
        return {
            "format": _FORMAT, "format_version": _FORMAT_VERSION, "package_version": __version__,
            "params": json.dumps(params), "template": json.dumps(template),
            "fitted": json.dumps(fitted), "metadata": json.dumps(self._metadata),
            "window_positions": torch.from_numpy(np.ascontiguousarray(self.window_positions_)),
            "windows": torch.from_numpy(self._windows),
            "generator": self.generator_._get_state(),
        }

    @classmethod
    def _from_state(cls, state):
        if state.get("format") != _FORMAT:
            raise ValueError(f"Not a saved {cls.__name__}: format is {state.get('format')!r}.")
        if state["format_version"] > _FORMAT_VERSION:
            raise ValueError(f"This file was written by a newer mne_dualdiv "
                             f"({state['package_version']}); upgrade to read it.")
        template = json.loads(state["template"])
        self = cls(generator=None if template is None else DualDivergenceGenerator(**template),
                   **state_json(state, "params", dict))
        fitted = state_json(state, "fitted", dict)
        windows, positions = state["windows"], state["window_positions"]
        metadata = state_json(state, "metadata", dict)
        if not (isinstance(windows, torch.Tensor) and windows.ndim == 3
                and windows.shape[2] == fitted["window_size"]
                and windows.shape[1] == len(_decode_array(metadata["channel_ids"]))):
            raise ValueError("its real windows do not have the shape (n_windows, n_channels, "
                             "window_size) of its metadata.")
        if not (isinstance(positions, torch.Tensor) and tuple(positions.shape) == (
                len(windows), 2)):
            raise ValueError("its window positions do not match its windows.")
        self.window_size_, self.overlap_size_ = fitted["window_size"], fitted["overlap_size"]
        self.window_positions_ = state["window_positions"].numpy()
        self._windows = state["windows"].numpy()
        self._metadata = json.loads(state["metadata"])
        self.channel_ids_ = _decode_array(self._metadata["channel_ids"])
        self.sampling_frequency_ = self._metadata["sampling_frequency"]
        self.dtype_ = np.dtype(self._metadata["dtype"])
        self.generator_ = DualDivergenceGenerator._from_state(state["generator"])
        if (self.generator_.n_channels_, self.generator_.n_times_) != tuple(windows.shape[1:]):
            raise ValueError(f"its generator makes {self.generator_.n_channels_} x "
                             f"{self.generator_.n_times_} windows, not "
                             f"{tuple(windows.shape[1:])}.")
        self._file_path = None
        return self

    def save(self, fname, overwrite=False):
        """Write the fitted synthesizer to a file that reading never executes.

        A ``torch.save`` archive of tensors and JSON strings only (the engine's state, the real
        windows, the recording's metadata) with a SHA-256 digest of them, read back by
        :func:`read_recording_synthesizer` with ``torch.load(weights_only=True)``. The file is
        written to a temporary name in the destination's folder and renamed when complete: an
        error never leaves a partial file, nor touches an existing one. It holds real data:
        keep it private.

        Parameters
        ----------
        fname : str | path-like
            Destination, conventionally ending in ``.pt``.
        overwrite : bool
            Replace an existing file.
        """
        fname = check_fname_for_writing(fname, overwrite)
        save_state(self._get_state(), fname, overwrite=overwrite)
        self._file_path = fname.resolve()


def read_recording_synthesizer(fname):
    """Read a :class:`RecordingSynthesizer` written by :meth:`RecordingSynthesizer.save`.

    Parameters
    ----------
    fname : str | path-like
        The file.

    Returns
    -------
    synthesizer : RecordingSynthesizer
        The fitted synthesizer; recordings it makes with a seed match the saved one's.

    Raises
    ------
    mne_dualdiv.InvalidFileError
        When the file is empty, truncated, damaged (its digest does not match), not a saved
        synthesizer, written by a newer version, or inconsistent.
    """
    fname = check_fname_for_reading(fname)
    synthesizer = load_state(fname, _FORMAT, _FORMAT_VERSION,
                             rebuild=RecordingSynthesizer._from_state)
    synthesizer._file_path = fname.resolve()
    return synthesizer


def _read_windows(recording, positions, window_size, chunk_frames):
    """Real windows (n, n_channels, window_size) at ``positions``, one read per chunk."""
    windows = np.empty((len(positions), recording.get_num_channels(), window_size))
    first = 0
    while first < len(positions):
        segment, start = positions[first]
        last = first
        while (last + 1 < len(positions) and positions[last + 1, 0] == segment
               and positions[last + 1, 1] + window_size - start <= chunk_frames):
            last += 1
        end = positions[last, 1] + window_size
        traces = recording.get_traces(start_frame=int(start), end_frame=int(end),
                                      segment_index=int(segment), return_in_uV=False)
        for row in range(first, last + 1):
            offset = positions[row, 1] - start
            windows[row] = traces[offset:offset + window_size].T
        first = last + 1
    return windows


def _grid_windows(recording, window_size, hop, n_windows, rng):
    """``n_windows`` windows on the grid ``k * hop``, read in runs of one block."""
    runs = []
    for segment in range(recording.get_num_segments()):
        n_grid = (recording.get_num_samples(segment_index=segment) - window_size) // hop + 1
        runs += [(segment, k, min(BLOCK_WINDOWS, n_grid - k))
                 for k in range(0, max(n_grid, 0), BLOCK_WINDOWS)]
    if not runs:
        raise ValueError(f"recording is shorter than one window ({window_size} samples).")
    windows, order = [], rng.permutation(len(runs))
    for run in order:
        segment, k, count = runs[run]
        count = min(count, n_windows - sum(len(w) for w in windows))
        if count <= 0:
            break
        start = k * hop
        traces = recording.get_traces(start_frame=start,
                                      end_frame=start + (count - 1) * hop + window_size,
                                      segment_index=segment, return_in_uV=False)
        windows.append(np.stack([traces[i * hop:i * hop + window_size].T
                                 for i in range(count)]).astype(np.float64))
    return np.concatenate(windows)


# ---------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class PrivacyReport:
    """Closest-record distances and membership inference of synthetic windows.

    Distances are Euclidean, between whole windows, in the engine's robust-scaled units. The
    members are the engine's training windows, the non-members its held-out windows (same
    recording, never trained on): the same-pool protocol of
    :func:`mne_dualdiv.metrics.privacy_scores`.

    Attributes
    ----------
    n_train, n_heldout, n_synthetic : int
        Number of real training (member), real held-out (non-member) and synthetic windows.
    median_dcr_synthetic, median_dcr_heldout : float
        Median distance of synthetic (held-out) windows to their closest training window.
    dcr_ratio : float
        ``median_dcr_synthetic / median_dcr_heldout``: about 1 or more means synthetic windows
        are no closer to the training windows than unseen real windows are.
    membership_inference_auc : float
        AUC of telling training from held-out windows by their distance to the synthetic
        windows (0.5: nothing leaks; 1: the synthetic windows copy the training set).
    nndr : float
        Median over synthetic windows of the distance to the closest member over the distance
        to the closest non-member (1: no leak; well below 1: synthetic windows sit on members).
    share_closer_to_members : float
        Fraction of synthetic windows closer to a member than to any non-member (0.5: no leak).
    reference_membership_inference_auc : float
        The AUC when real held-out windows are released instead (about 0.5 by construction).
    near_copy_threshold : float
        The engine's near-copy guard: a nearest-neighbour distance ratio (closest over
        second-closest training window).
    fraction_near_copies : float
        Fraction of synthetic windows whose ratio is below that threshold.
    """

    n_train: int
    n_heldout: int
    n_synthetic: int
    median_dcr_synthetic: float
    median_dcr_heldout: float
    dcr_ratio: float
    membership_inference_auc: float
    nndr: float
    share_closer_to_members: float
    reference_membership_inference_auc: float
    near_copy_threshold: float
    fraction_near_copies: float

    def to_dict(self):
        """The fields as a dict."""
        return asdict(self)

    def __repr__(self):
        return (
            f"<PrivacyReport | {self.n_synthetic} synthetic windows vs {self.n_train} training "
            f"and {self.n_heldout} held-out real windows\n"
            f"  closest-record distance (median): synthetic {self.median_dcr_synthetic:.4g}, "
            f"held-out {self.median_dcr_heldout:.4g} (ratio {self.dcr_ratio:.3f})\n"
            f"  synthetic windows closer to a member than to any non-member: "
            f"{100 * self.share_closer_to_members:.1f} % (50 %: nothing leaks)\n"
            f"  distance ratio to members / non-members (median): {self.nndr:.3f} "
            f"(1: nothing leaks)\n"
            f"  near-copies (distance ratio below the guard, {self.near_copy_threshold:.3g}): "
            f"{100 * self.fraction_near_copies:.1f} %\n"
            f"  membership-inference AUC: {self.membership_inference_auc:.3f} "
            f"(0.5: nothing leaks; real held-out windows released: "
            f"{self.reference_membership_inference_auc:.3f})>"
        )


# ---------------------------------------------------------------------------------- recording
@functools.lru_cache(maxsize=2)
def _read_synthesizer_cached(path, mtime_ns, size):
    return read_recording_synthesizer(path)


@functools.lru_cache(maxsize=2)
def _source_cached(path, mtime_ns, size, seed, pool_size):
    # Cached per process: clones, from_dict and forked workers share one pool.
    synthesizer = _read_synthesizer_cached(path, mtime_ns, size)
    return synthesizer, _WindowSource(synthesizer, seed, pool_size)


class SyntheticRecording(BaseRecording):
    """A lazy recording whose frames a fitted :class:`RecordingSynthesizer` makes on demand.

    Made by :meth:`RecordingSynthesizer.sample`. Its segments compute only the frames that
    ``get_traces`` asks for: windows on a grid of ``window_size - overlap_size`` frames,
    crossfaded with equal-power sine/cosine weights over ``overlap_size`` frames, generated
    in blocks of :data:`BLOCK_WINDOWS` windows seeded by ``(seed, segment_index, block)``, so
    that any two calls agree on the frames they share. Everything needed to re-create it
    (file, durations, seed, pool size) is in its kwargs: it dumps, loads and runs in worker
    processes like any SpikeInterface extractor.

    Parameters
    ----------
    file_path : str | path-like
        A synthesizer written by :meth:`RecordingSynthesizer.save`.
    durations : list of float
        Duration of each segment in seconds.
    seed : int
        Seed of everything random in the recording.
    pool_size : None | int
        Distinct synthetic windows generated when the recording is created (cached per
        process), or ``None`` to generate every block's windows when it is asked for.
    """

    def __init__(self, file_path, durations, seed, pool_size=128):
        file_path = check_fname_for_reading(file_path, "file_path").resolve()
        durations = _check_durations(durations)
        seed = check_int("seed", seed, minimum=0)
        pool_size = _check_pool_size(pool_size)
        stat = file_path.stat()
        synthesizer, source = _source_cached(str(file_path), stat.st_mtime_ns, stat.st_size,
                                             seed, pool_size)
        metadata = synthesizer._metadata
        BaseRecording.__init__(self, sampling_frequency=metadata["sampling_frequency"],
                               channel_ids=_decode_array(metadata["channel_ids"]),
                               dtype=np.dtype(metadata["dtype"]))
        for segment_index, duration in enumerate(durations):
            num_samples = int(round(duration * metadata["sampling_frequency"]))
            self.add_recording_segment(SyntheticRecordingSegment(
                source, segment_index, num_samples, metadata["sampling_frequency"],
                self.get_dtype()))
        _apply_metadata(self, metadata)
        self.extra_requirements.extend(["mne_dualdiv", "torch"])
        self._kwargs = dict(file_path=str(file_path), durations=durations, seed=seed,
                            pool_size=pool_size)


class SyntheticRecordingSegment(BaseRecordingSegment):
    """One segment of a :class:`SyntheticRecording`: frames made block by block on demand."""

    def __init__(self, source, segment_index, num_samples, sampling_frequency, dtype):
        BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
        self._source, self._segment_index = source, segment_index
        self._num_samples, self._dtype = num_samples, dtype

    def get_num_samples(self):
        return self._num_samples

    def get_traces(self, start_frame=None, end_frame=None, channel_indices=None):
        start_frame = 0 if start_frame is None else int(start_frame)
        end_frame = self._num_samples if end_frame is None else int(end_frame)
        traces = _cast(self._source.frames(self._segment_index, start_frame, end_frame),
                       self._dtype)
        return traces if channel_indices is None else traces[:, channel_indices]
