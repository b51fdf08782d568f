"""neo signals in, synthetic neo signals out: :class:`NeoSynthesizer`.

An ``AnalogSignal``, a ``Segment`` or a ``Block`` is learnt through the recording adapter
(:class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer`, on an in-memory
SpikeInterface view of the signals), and ``sample`` returns the same kind of object. The i-th
analog signal of every segment forms one *stream* (for example one sampling rate of an EDF
file) with its own synthesizer, which learns two things of it:

- its **background**: a stationary Gaussian process with the stream's per-channel spectra,
  channel correlations and offsets (spikes masked out first);
- its **units**, when the stream has a spike band (sampled at about 1.33 kHz or more: 300 Hz
  and an octave above below 0.45 of the sampling rate) and spikes are detected in it: new
  unit templates and renewal spike trains, added to the background.

A slow stream (LFP, EEG, EMG) is therefore synthesized as background only: its spectra and
channel correlations survive, its non-stationary events (bursts, rhythms that come and go)
do not.

What survives, field by field:

=======================  ===============================================================
field                    how
=======================  ===============================================================
kind and layout          ``AnalogSignal`` -> ``AnalogSignal``, ``Segment`` -> ``Segment``,
                         ``Block`` -> ``Block``; the same number of segments and of
                         signals per segment, in the same order
units                    the same (the values are learnt in the signal's units)
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
timings or data and are not synthesized: they are left out of the samples (the spike times of
the synthetic units are not added either). Annotations are copied as they are; a file's header
may have put identifying fields there (EDF patient and recording fields end up in the block's
annotations): clear them before sharing.

neo signals carry no probe geometry: the channels of a stream are taken as a line of contacts
20 µm apart, in their order, for spike detection and unit templates.
"""

import copy
import numbers

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import check_fitted, check_int, check_random_state
from .._docs import fill_doc
from .._logging import logger, use_verbose
from ._conditions import check_template
from .recording import RecordingSynthesizer
from .recording._metadata import check_durations

#: Children of a neo Segment that are not synthesized.
_NOT_SYNTHESIZED = ("spiketrains", "events", "epochs", "irregularlysampledsignals",
                    "imagesequences")
_CONTAINER_FIELDS = ("name", "description", "file_origin", "file_datetime", "rec_datetime",
                     "index")
#: Parameters of NeoSynthesizer handed as they are to every stream's RecordingSynthesizer.
_RECORDING_PARAMS = ("template_model", "n_neighbours", "ms_before", "ms_after",
                     "detect_threshold", "fit_duration", "noise_duration", "max_snippets",
                     "generator", "verbose")
#: Spacing (µm) of the line of contacts a stream's channels are taken to be.
CONTACT_PITCH_UM = 20.0


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
    recording = NumpyRecording([np.asarray(signal.magnitude) for signal in signals], rate,
                               channel_ids=np.arange(first.shape[1]).astype(str))
    # SpikeInterface's peak detection needs channel locations; neo has none (module docstring).
    recording.set_dummy_probe_from_locations(np.column_stack(
        [np.zeros(first.shape[1]), CONTACT_PITCH_UM * np.arange(first.shape[1])]))
    return recording


@fill_doc
class NeoSynthesizer(BaseEstimator):
    """Learn neo analog signals and make synthetic ``AnalogSignal``/``Segment``/``Block``.

    Every stream (the i-th analog signal of each segment) gets its own
    :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer`, fitted on all segments of
    that stream in the signal's units; ``sample`` returns the kind of object that was fitted,
    with the fields listed in the docstring of ``mne_dualdiv.adapters.neo``.

    Parameters
    ----------
    template_model : 'gaussian' | 'engine'
        Where new unit templates come from (see :class:`RecordingSynthesizer`).
    n_neighbours : int
        Channels of a spike snippet: the peak channel and its nearest neighbours (rows beyond
        the ends of the stream's line of channels stay empty).
    ms_before, ms_after : float
        Snippet (and template) extent around the trough, in milliseconds.
    detect_threshold : float
        Peak detection threshold in MADs of each channel's band noise.
    fit_duration : float
        Seconds of each stream (from the start, segments in order) in which spikes are
        detected.
    noise_duration : float
        Seconds of each stream (random chunks of one second) the background is fitted on.
    max_snippets : int
        Most spike snippets learnt from per stream (at least 20).
    generator : None | DualDivergenceGenerator
        Engine settings for ``template_model="engine"``, as an unfitted template (see
        :class:`RecordingSynthesizer`).
    random_state : None | int | numpy.random.Generator
        Seed of ``fit`` (one seed per stream is drawn from it).
    %(verbose_current)s

    Attributes
    ----------
    kind_ : 'analogsignal' | 'segment' | 'block'
        What was fitted, and what ``sample`` returns.
    synthesizers_ : list of RecordingSynthesizer
        The fitted synthesizer of each stream (``units_`` is None for a stream synthesized as
        background only).

    Notes
    -----
    ``sample`` makes each stream through :meth:`RecordingSynthesizer.sample`, which reads the
    fitted synthesizer from a file: the first call of each stream writes one into
    SpikeInterface's temporary folder. Like the fitted synthesizers, those files hold the real
    units' templates and summary statistics: they are not for sharing.
    """

    def __init__(self, template_model="gaussian", n_neighbours=16, ms_before=1.5,
                 ms_after=2.5, detect_threshold=5.0, fit_duration=300.0, noise_duration=30.0,
                 max_snippets=5000, generator=None, random_state=None, verbose=None):
        self.template_model = template_model
        self.n_neighbours = n_neighbours
        self.ms_before = ms_before
        self.ms_after = ms_after
        self.detect_threshold = detect_threshold
        self.fit_duration = fit_duration
        self.noise_duration = noise_duration
        self.max_snippets = max_snippets
        self.generator = generator
        self.random_state = random_state
        self.verbose = verbose

    def _stream_synthesizer(self, seed):
        return RecordingSynthesizer(**{name: getattr(self, name) for name in _RECORDING_PARAMS},
                                    random_state=seed)

    def fit(self, obj, y=None):
        """Fit one synthesizer per stream of ``obj``.

        Parameters
        ----------
        obj : neo.AnalogSignal | neo.Segment | neo.Block
            Loaded (not lazy) signals without NaN, at least one second long (the background
            is fitted on one-second chunks). Never modified.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : NeoSynthesizer
            The fitted synthesizer.
        """
        rng = check_random_state(self.random_state)
        if self.generator is not None:  # checked whatever the template model, before any fit
            check_template(self.generator)
        self._stream_synthesizer(0)._check_params()
        with use_verbose(self.verbose):
            kind, layout = _segments_of(obj)
            synthesizers = []
            for stream in range(len(layout[0])):
                signals = [signals[stream] for signals in layout]
                logger.info("Fitting stream %d (%s) on %d segment(s)", stream,
                            signals[0].name, len(signals))
                recording = _stream_recording(signals)
                try:
                    synthesizers.append(self._stream_synthesizer(
                        int(rng.integers(2**31))).fit(recording))
                except ValueError as err:  # e.g. too short: say which stream
                    raise ValueError(f"Stream {stream} ({signals[0].name!r}): {err}") from err
        self.kind_, self.synthesizers_ = kind, synthesizers
        self._signals = [[_signal_fields(signal) for signal in signals] for signals in layout]
        if kind == "block":
            self._block = _container_fields(obj)
            self._segments = [_container_fields(segment) for segment in obj.segments]
        elif kind == "segment":
            self._segments = [_container_fields(obj)]
        return self

    def _check_fitted(self, what):
        check_fitted(self, "synthesizers_", what, fit_call="fit(obj)")

    def _durations(self, durations):
        """Duration of each (segment, stream) in seconds: the input's or the ones given."""
        n_segments = len(self._signals)
        if durations is None:
            return [[fields["n_samples"] / float(fields["sampling_rate"].rescale("Hz").magnitude)
                     for fields in signals] for signals in self._signals]
        if isinstance(durations, (numbers.Real, np.floating)) and n_segments > 1:
            durations = [durations] * n_segments
        durations = check_durations(durations)
        if len(durations) != n_segments:
            raise ValueError(f"durations has {len(durations)} value(s); the fitted input has "
                             f"{n_segments} segment(s).")
        return [[d] * len(self.synthesizers_) for d in durations]

    def _synthetic_streams(self, durations, random_state, n_units):
        """The lazy SyntheticRecording of each stream (one seed per stream from the rng)."""
        rng = check_random_state(random_state)
        durations = self._durations(durations)
        if n_units is not None:
            n_units = check_int("n_units", n_units, minimum=0)
        seeds = [int(rng.integers(2**63)) for _ in self.synthesizers_]
        return [synthesizer.sample([segment[stream] for segment in durations],
                                   random_state=seeds[stream], n_units=n_units)
                for stream, synthesizer in enumerate(self.synthesizers_)], rng

    def sample(self, durations=None, random_state=None, n_units=None):
        """Make a synthetic object of the fitted kind.

        Parameters
        ----------
        durations : None | float | list of float
            Seconds per segment; ``None`` keeps every signal's input duration.
        random_state : None | int | numpy.random.Generator
            Seed; the same seed gives the same signals.
        n_units : None | int
            Synthetic units of every stream that has units; ``None``: as many as the stream's
            real clusters (``synthesizers_[i].n_real_units_``).

        Returns
        -------
        synthetic : neo.AnalogSignal | neo.Segment | neo.Block
            The same kind as the fitted input.
        """
        import neo

        self._check_fitted("sample")
        with use_verbose(self.verbose):
            recordings, _ = self._synthetic_streams(durations, random_state, n_units)
            signals = [[_make_signal(recordings[stream].get_traces(segment_index=s), fields)
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

    def privacy_report(self, obj, durations=None, random_state=None, n_units=None,
                       max_snippets=2000):
        """Whether the units or spikes of a sample can be linked to the real signals.

        Per stream, :meth:`RecordingSynthesizer.privacy_report`: each synthetic unit's
        template against the real units', and synthetic spike snippets against the real ones
        learnt from and the real ones never seen (their distances, and the membership attack
        ensemble with the snippets as records). With the ``durations``, int
        ``random_state`` and ``n_units`` given to :meth:`sample`, the audited recording is
        exactly the one that ``sample`` made.

        Parameters
        ----------
        obj : neo.AnalogSignal | neo.Segment | neo.Block
            The object that was fitted (its spikes are the real ones compared with).
        durations : None | float | list of float
            As given to :meth:`sample`.
        random_state : None | int | numpy.random.Generator
            As given to :meth:`sample`.
        n_units : None | int
            As given to :meth:`sample`.
        max_snippets : int
            Most snippets compared in each set, per stream.

        Returns
        -------
        reports : list of None | PrivacyReport
            One per stream (one for an AnalogSignal); ``None`` for a stream synthesized as
            background only (no unit learnt: nothing to link).
        """
        self._check_fitted("privacy_report")
        _, layout = _segments_of(obj)
        if len(layout) != len(self._signals) or len(layout[0]) != len(self.synthesizers_):
            raise ValueError(f"obj has {len(layout)} segment(s) of {len(layout[0])} stream(s); "
                             f"{len(self._signals)} segment(s) of {len(self.synthesizers_)} "
                             f"stream(s) were fitted.")
        max_snippets = check_int("max_snippets", max_snippets, minimum=1)
        with use_verbose(self.verbose):
            recordings, rng = self._synthetic_streams(durations, random_state, n_units)
            reports = []
            for stream, synthesizer in enumerate(self.synthesizers_):
                real = _stream_recording([signals[stream] for signals in layout])
                if real.get_num_channels() != len(synthesizer.channel_ids_):
                    raise ValueError(f"Stream {stream} of obj has {real.get_num_channels()} "
                                     f"channel(s); {len(synthesizer.channel_ids_)} were fitted.")
                if synthesizer.units_ is None:
                    logger.info("Stream %d (%s) is background only: no unit to link.", stream,
                                layout[0][stream].name)
                    reports.append(None)
                    continue
                reports.append(synthesizer.privacy_report(
                    real, recordings[stream], max_snippets=max_snippets,
                    random_state=int(rng.integers(2**31))))
        return reports


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
