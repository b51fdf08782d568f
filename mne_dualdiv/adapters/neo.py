"""neo signals in, synthetic neo signals out: :class:`NeoSynthesizer`.

An ``AnalogSignal``, a ``Segment`` or a ``Block`` is learnt window by window through the
recording adapter (:class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer`, on an
in-memory SpikeInterface view of the signals), and ``sample`` returns the same kind of object.
The i-th analog signal of every segment forms one *stream* (for example one sampling rate of
an EDF file) with its own generator.

What survives, field by field:

=======================  ===============================================================
field                    how
=======================  ===============================================================
kind and layout          ``AnalogSignal`` -> ``AnalogSignal``, ``Segment`` -> ``Segment``,
                         ``Block`` -> ``Block``; the same number of segments and of
                         signals per segment, in the same order
units                    the same (the engine learns the values in the signal's units)
dtype                    the same
sampling rate            the same
``t_start``              the same, per signal and segment
duration                 the input's, unless ``sample`` is given others
channel names            ``array_annotations`` copied as they are (``channel_names``,
                         ``channel_ids``, ...)
annotations              ``name``, ``description``, ``file_origin`` and ``annotations`` of
                         every signal, segment and block; ``rec_datetime``,
                         ``file_datetime`` and ``index`` of segments and blocks
=======================  ===============================================================

Spike trains, events, epochs, irregularly sampled signals and image sequences hold real
timings or data and are not synthesized: they are left out of the samples. Annotations are
copied as they are; a file's header may have put identifying fields there (EDF patient and
recording fields end up in the block's annotations): clear them before sharing.
"""

import copy
import numbers

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import check_random_state
from .._logging import logger, use_verbose
from .recording import RecordingSynthesizer, _check_durations

#: Children of a neo Segment that are not synthesized.
_NOT_SYNTHESIZED = ("spiketrains", "events", "epochs", "irregularlysampledsignals",
                    "imagesequences")
_CONTAINER_FIELDS = ("name", "description", "file_origin", "file_datetime", "rec_datetime",
                     "index")


def _check_signal(signal, where):
    import neo

    if type(signal).__name__ == "AnalogSignalProxy":
        raise TypeError(f"{where} is a lazy AnalogSignalProxy; read it with lazy=False, or read "
                        "long files lazily with spikeinterface.extractors and use "
                        "RecordingSynthesizer.")
    if not isinstance(signal, neo.AnalogSignal):
        raise TypeError(f"{where} must be a neo.AnalogSignal, got {type(signal).__name__} "
                        "instead.")
    if signal.shape[0] == 0 or signal.shape[1] == 0:
        raise ValueError(f"{where} is empty: {signal.shape[0]} sample(s) of "
                         f"{signal.shape[1]} channel(s).")
    if not np.all(np.isfinite(signal.magnitude)):
        raise ValueError(f"{where} contains NaN or Inf values; remove or interpolate them "
                         "first.")
    return signal


def _segments_of(obj):
    """The kind of ``obj`` and its analog signals as a list (segments) of lists (streams)."""
    import neo

    if isinstance(obj, neo.Block):
        if len(obj.segments) == 0:
            raise ValueError("The block has no segments.")
        kind, segments = "block", list(obj.segments)
    elif isinstance(obj, neo.Segment):
        kind, segments = "segment", [obj]
    elif isinstance(obj, neo.AnalogSignal) or type(obj).__name__ == "AnalogSignalProxy":
        return "analogsignal", [[_check_signal(obj, "The signal")]]
    else:
        raise TypeError(f"obj must be a neo.AnalogSignal, Segment or Block, got "
                        f"{type(obj).__name__} instead.")
    left_out = sorted({name for segment in segments for name in _NOT_SYNTHESIZED
                       if len(getattr(segment, name, []))})
    if left_out:
        logger.warning("Only analog signals are synthesized; the %s of the input are left out.",
                       ", ".join(left_out))
    layout = [[_check_signal(sig, f"Signal {i} of segment {s}")
               for i, sig in enumerate(segment.analogsignals)]
              for s, segment in enumerate(segments)]
    n_signals = {len(signals) for signals in layout}
    if n_signals == {0}:
        raise ValueError("The input holds no analog signal.")
    if len(n_signals) > 1:
        raise ValueError(f"Every segment must hold the same number of analog signals, got "
                         f"{[len(signals) for signals in layout]}.")
    return kind, layout


def _signal_fields(signal):
    """Everything of an AnalogSignal but its values (copied, never shared)."""
    return dict(units=signal.units.copy(), sampling_rate=signal.sampling_rate.copy(),
                t_start=signal.t_start.copy(), dtype=signal.dtype, n_samples=signal.shape[0],
                n_channels=signal.shape[1], name=signal.name, description=signal.description,
                file_origin=signal.file_origin,
                array_annotations=copy.deepcopy(dict(signal.array_annotations)),
                annotations=copy.deepcopy(dict(signal.annotations)))


def _container_fields(container):
    fields = {name: copy.deepcopy(getattr(container, name, None)) for name in _CONTAINER_FIELDS}
    fields["annotations"] = copy.deepcopy(dict(container.annotations))
    return fields


def _stream_recording(signals):
    """An in-memory SpikeInterface recording of one stream (one signal per segment)."""
    from spikeinterface.core import NumpyRecording

    first = signals[0]
    rate = float(first.sampling_rate.rescale("Hz").magnitude)
    for index, signal in enumerate(signals[1:], start=1):
        if (signal.shape[1] != first.shape[1] or signal.units != first.units
                or not np.isclose(float(signal.sampling_rate.rescale("Hz").magnitude), rate)):
            raise ValueError(
                f"Signal {signal.name!r} of segment {index} does not match the same signal of "
                f"segment 0 ({first.shape[1]} channels in {first.units.dimensionality} at "
                f"{rate} Hz): every segment must hold the same streams."
            )
    return NumpyRecording([np.asarray(signal.magnitude) for signal in signals], rate,
                          channel_ids=np.arange(first.shape[1]).astype(str))


class NeoSynthesizer(BaseEstimator):
    """Learn neo analog signals and make synthetic ``AnalogSignal``/``Segment``/``Block``.

    Every stream (the i-th analog signal of each segment) gets its own
    :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer`, fitted on windows of that
    stream in the signal's units; ``sample`` returns the kind of object that was fitted, with
    the fields listed in the docstring of ``mne_dualdiv.adapters.neo``.

    Parameters
    ----------
    window_duration : None | float
        Window length in seconds; ``None`` means 64 samples at each stream's rate.
    overlap : float
        Fraction of a window, in [0, 0.5], crossfaded with each neighbour.
    max_windows : int
        Most windows read per stream (at least 20).
    generator : None | DualDivergenceGenerator
        Engine settings, as an unfitted template (see :class:`RecordingSynthesizer`).
    random_state : None | int | numpy.random.Generator
        Seed of ``fit`` (one seed per stream is drawn from it).
    verbose : None | bool | str | int
        Logging level; ``None`` keeps the current one.

    Attributes
    ----------
    kind_ : 'analogsignal' | 'segment' | 'block'
        What was fitted, and what ``sample`` returns.
    synthesizers_ : list of RecordingSynthesizer
        The fitted synthesizer of each stream.
    """

    def __init__(self, window_duration=None, overlap=0.25, max_windows=500, generator=None,
                 random_state=None, verbose=None):
        self.window_duration = window_duration
        self.overlap = overlap
        self.max_windows = max_windows
        self.generator = generator
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, obj, y=None):
        """Fit one synthesizer per stream of ``obj``.

        Parameters
        ----------
        obj : neo.AnalogSignal | neo.Segment | neo.Block
            Loaded (not lazy) signals without NaN. Never modified.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : NeoSynthesizer
            The fitted synthesizer.
        """
        rng = check_random_state(self.random_state)
        with use_verbose(self.verbose):
            kind, layout = _segments_of(obj)
            synthesizers = []
            for stream in range(len(layout[0])):
                signals = [signals[stream] for signals in layout]
                logger.info("Fitting stream %d (%s) on %d segment(s)", stream,
                            signals[0].name, len(signals))
                synthesizers.append(RecordingSynthesizer(
                    window_duration=self.window_duration, overlap=self.overlap,
                    max_windows=self.max_windows, generator=self.generator,
                    random_state=int(rng.integers(2**31)), verbose=self.verbose,
                ).fit(_stream_recording(signals)))
        self.kind_, self.synthesizers_ = kind, synthesizers
        self._signals = [[_signal_fields(signal) for signal in signals] for signals in layout]
        if kind == "block":
            self._block = _container_fields(obj)
            self._segments = [_container_fields(segment) for segment in obj.segments]
        elif kind == "segment":
            self._segments = [_container_fields(obj)]
        return self

    def _check_fitted(self, what):
        if not hasattr(self, "synthesizers_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call fit(obj) "
                               f"before {what}.")

    def _durations(self, durations):
        """Duration of each (segment, stream) in seconds: the input's or the ones given."""
        n_segments = len(self._signals)
        if durations is None:
            return [[fields["n_samples"] / float(fields["sampling_rate"].rescale("Hz").magnitude)
                     for fields in signals] for signals in self._signals]
        if isinstance(durations, (numbers.Real, np.floating)) and n_segments > 1:
            durations = [durations] * n_segments
        durations = _check_durations(durations)
        if len(durations) != n_segments:
            raise ValueError(f"durations has {len(durations)} value(s); the fitted input has "
                             f"{n_segments} segment(s).")
        return [[d] * len(self.synthesizers_) for d in durations]

    def sample(self, durations=None, random_state=None, pool_size=128):
        """Make a synthetic object of the fitted kind.

        Parameters
        ----------
        durations : None | float | list of float
            Seconds per segment; ``None`` keeps every signal's input duration.
        random_state : None | int | numpy.random.Generator
            Seed; the same seed gives the same signals.
        pool_size : None | int
            Distinct synthetic windows per stream (see :meth:`RecordingSynthesizer.sample`).

        Returns
        -------
        synthetic : neo.AnalogSignal | neo.Segment | neo.Block
            The same kind as the fitted input.
        """
        import neo

        self._check_fitted("sample")
        rng = check_random_state(random_state)
        with use_verbose(self.verbose):
            durations = self._durations(durations)
            traces = [self.synthesizers_[stream]._synthesize(
                [durations[s][stream] for s in range(len(durations))],
                random_state=int(rng.integers(2**63)), pool_size=pool_size)
                for stream in range(len(self.synthesizers_))]
        signals = [[_make_signal(traces[stream][s], fields)
                    for stream, fields in enumerate(self._signals[s])]
                   for s in range(len(self._signals))]
        if self.kind_ == "analogsignal":
            return signals[0][0]
        segments = []
        for fields, segment_signals in zip(self._segments, signals):
            segment = _make_container(neo.Segment, fields)
            segment.analogsignals.extend(segment_signals)
            segments.append(segment)
        if self.kind_ == "segment":
            return segments[0]
        block = _make_container(neo.Block, self._block)
        block.segments.extend(segments)
        return block

    def privacy_report(self, synthetic, n_windows=1024, random_state=None):
        """Privacy report of every stream of a synthetic object (see
        :meth:`RecordingSynthesizer.privacy_report`).

        Parameters
        ----------
        synthetic : neo.AnalogSignal | neo.Segment | neo.Block
            Made by :meth:`sample`.
        n_windows : int
            Windows cut from each stream.
        random_state : None | int | numpy.random.Generator
            Seed of the window positions.

        Returns
        -------
        reports : list of PrivacyReport
            One per stream (one for an AnalogSignal).
        """
        self._check_fitted("privacy_report")
        _, layout = _segments_of(synthetic)
        if len(layout[0]) != len(self.synthesizers_):
            raise ValueError(f"synthetic has {len(layout[0])} stream(s); {len(self.synthesizers_)}"
                             " were fitted.")
        rng = check_random_state(random_state)
        return [synthesizer.privacy_report(
            _stream_recording([signals[stream] for signals in layout]), n_windows=n_windows,
            random_state=rng) for stream, synthesizer in enumerate(self.synthesizers_)]


def _make_signal(traces, fields):
    import neo

    return neo.AnalogSignal(
        traces.astype(fields["dtype"], copy=False), units=fields["units"].copy(),
        t_start=fields["t_start"].copy(), sampling_rate=fields["sampling_rate"].copy(),
        name=fields["name"], description=fields["description"],
        file_origin=fields["file_origin"],
        array_annotations=copy.deepcopy(fields["array_annotations"]),
        **copy.deepcopy(fields["annotations"]))


def _make_container(cls, fields):
    fields = copy.deepcopy(fields)
    annotations = fields.pop("annotations")
    return cls(**fields, **annotations)
