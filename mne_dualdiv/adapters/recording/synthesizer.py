"""SpikeInterface recordings in, lazy synthetic recordings out: :class:`RecordingSynthesizer`.

A recording is decomposed, then each part is synthesized anew:

1. **Spikes.** ``detect_peaks`` (locally exclusive, 5 MAD) on the spike band finds the spikes
   of the first ``fit_duration`` seconds; snippets of ``ms_before`` / ``ms_after`` on the
   ``n_neighbours`` channels nearest each peak train a model of unit templates
   (:mod:`.units`): new units, none closer to a real unit than real units are to one another,
   firing as renewal processes with the fitted rates, bursts and refractory period.
2. **Background.** A stationary Gaussian process (:mod:`.noise`) fitted on ``noise_duration``
   seconds of the raw traces with the spikes masked: per-channel spectra, per-band channel
   correlations, offsets.
3. **Sum.** :class:`~.segment.SyntheticRecording` adds the synthetic spikes to the synthetic
   background, lazily and seeded, and carries the real recording's channel ids, probe,
   gains, offsets, properties and annotations (:mod:`._metadata`).

The real spike times, templates and noise are never copied into a synthetic recording. The
fitted synthesizer (and its file) holds the real cluster templates (the guard needs them) and
summary statistics: keep it private and share what ``synthetic.save(folder=...)`` writes.
Measurements behind every choice: ``docs/recording.md``.
"""

import uuid
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, clone

from ..._checks import (check_fname_for_reading, check_fname_for_writing, check_float,
                        check_int, check_n_jobs, check_option, check_path,
                        check_random_state)
from ..._docs import fill_doc
from ..._io import save_state
from ..._logging import logger, use_verbose
from ...engine import DualDivergenceGenerator
from .._conditions import check_template
from . import _state, spikes
from ._metadata import (check_durations, check_recording, decode_array, first_seconds,
                        recording_metadata, seed_from)
from .detection import Background
from .noise import NoiseModel, noise_chunks
from .units import UnitModel
from .segment import SyntheticRecording

#: Engine settings of ``template_model="engine"`` when no ``generator`` is given.
RECORDING_GENERATOR_PARAMS = dict(n_bridges=8, max_steps=300)
#: Most snippets given to the engine (its fit time grows with them).
ENGINE_MAX_SNIPPETS = 2000
#: Length of one chunk of the noise fit (s).
NOISE_CHUNK_S = 1.0
#: Longest ``ms_before`` or ``ms_after``: a spike lasts a few ms (SpikeInterface's windows are
#: 1-3 ms); ``ms_before=1e6`` asked for a 1000 s recording without naming the argument.
MAX_WINDOW_MS = 20.0


class RecordingSynthesizer(BaseEstimator):
    """Learn a SpikeInterface recording's units and background; make lazy synthetic ones.

    Parameters
    ----------
    template_model : 'gaussian' | 'engine'
        Where new unit templates come from: a Gaussian in the principal subspace of the real
        spike snippets, or the dual-divergence engine fitted on the snippets
        (``docs/recording.md`` compares them).
    n_neighbours : int
        Channels of a spike snippet: the peak channel and its nearest neighbours.
    ms_before, ms_after : float
        Snippet (and template) extent around the trough, in milliseconds.
    detect_threshold : float
        Peak detection threshold in MADs of each channel's band noise.
    fit_duration : float
        Seconds (from the start, segments in order) in which spikes are detected and
        snippets cut.
    noise_duration : float
        Seconds of raw traces (random one-second chunks) the background is fitted on.
    max_snippets : int
        Most snippets learned from (the first ones in time, so that firing statistics stay
        valid).
    generator : None | DualDivergenceGenerator
        Engine settings for ``template_model="engine"``, as an unfitted template (cloned;
        its ``random_state`` is replaced). ``None`` uses
        ``DualDivergenceGenerator(**RECORDING_GENERATOR_PARAMS)``.
    n_jobs : None | int
        SpikeInterface jobs of the band filter and the peak detection (``None``: 1; ``-1``:
        every CPU core, as in MNE and scikit-learn).
    random_state : None | int | numpy.random.Generator
        Seed of the noise chunks and of the engine's fit.
    verbose : None | bool | str | int
        Logging level; ``None`` keeps the current one.

    Attributes
    ----------
    noise_ : NoiseModel
        The fitted background.
    units_ : None | UnitModel
        The fitted unit population (``None`` when no spike was detected, or the sampling
        frequency has no spike band: the synthetic recording is then background only).
    neighbours_ : ndarray of int, shape (n_channels, n_neighbours)
        Each channel's snippet channels.
    nbefore_, nafter_ : int
        Frames of a template before and after the trough.
    n_real_units_ : int
        Clusters found among the real spikes (the default number of synthetic units).
    peak_rate_ : float
        Detected spikes per second in the analysed part.
    snippet_positions_ : ndarray of int, shape (n_snippets, 3)
        Segment, frame and peak channel of every real snippet learned from.
    channel_ids_, sampling_frequency_, dtype_, metadata_
        What a synthetic recording keeps of the real one.

    See Also
    --------
    SyntheticRecording : The lazy recording made by :meth:`sample`.
    read_recording_synthesizer : Read a synthesizer written by :meth:`save`.
    """

    def __init__(self, template_model="gaussian", n_neighbours=16, ms_before=1.5,
                 ms_after=2.5, detect_threshold=5.0, fit_duration=300.0, noise_duration=30.0,
                 max_snippets=5000, generator=None, n_jobs=1, random_state=None, verbose=None):
        self.template_model = template_model
        self.n_neighbours = n_neighbours
        self.ms_before = ms_before
        self.ms_after = ms_after
        self.detect_threshold = detect_threshold
        self.fit_duration = fit_duration
        self.noise_duration = noise_duration
        self.max_snippets = max_snippets
        self.generator = generator
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        check_option("template_model", self.template_model, ("gaussian", "engine"))
        check_int("n_neighbours", self.n_neighbours, minimum=1)
        for name in ("ms_before", "ms_after"):  # a spike's window, not a recording's
            check_float(name, getattr(self, name), low=0, high=MAX_WINDOW_MS,
                        low_inclusive=False)
        for name in ("detect_threshold", "fit_duration", "noise_duration"):
            check_float(name, getattr(self, name), low=0, low_inclusive=False)
        check_int("max_snippets", self.max_snippets, minimum=20)
        check_n_jobs(self.n_jobs)
        check_template(self.generator)  # whatever the template model, as NeoSynthesizer

    def fit(self, recording, y=None):
        """Detect the spikes of ``recording``, learn its units and background.

        Parameters
        ----------
        recording : spikeinterface BaseRecording
            Any recording (lazy or not, one or more segments, raw or filtered), never
            modified; read chunk by chunk.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : RecordingSynthesizer
        """
        recording = check_recording(recording)
        self._check_params()
        rng = check_random_state(self.random_state)
        fs = float(recording.sampling_frequency)
        nbefore = max(1, int(round(self.ms_before * fs / 1000)))
        nafter = max(1, int(round(self.ms_after * fs / 1000)))
        chunk = max(int(round(NOISE_CHUNK_S * fs)), 4 * nbefore + 4 * nafter)
        analysed = first_seconds(recording, self.fit_duration)
        durations = [analysed.get_num_samples(segment_index=s) / fs
                     for s in range(analysed.get_num_segments())]
        if max(durations) * fs < chunk:
            raise ValueError(f"recording is {max(durations):.3g} s long; at least "
                             f"{chunk / fs:.3g} s (one noise chunk) are needed.")
        locations = spikes.channel_locations(recording)
        neighbours = spikes.neighbourhoods(locations, self.n_neighbours)
        masked = spikes.channels_within(locations)
        job = dict(n_jobs=check_n_jobs(self.n_jobs))
        with use_verbose(self.verbose):
            units, peaks, positions = None, spikes.no_peaks(), np.zeros((0, 3), np.int64)
            threshold = 0.0
            if spikes.has_spike_band(fs):
                band = spikes.spike_band(analysed)
                levels = spikes.noise_levels(band, seed=int(rng.integers(2**31)))
                peaks = spikes.find_peaks(band, levels, self.detect_threshold, job)
                threshold = self.detect_threshold * float(np.median(levels))
                logger.info("Detected %d spikes in %.1f s", len(peaks), sum(durations))
                wide = spikes.spike_band(analysed, freq_min=spikes.TEMPLATE_FREQ_MIN)
                background = Background(band, peaks, neighbours, locations, nbefore, nafter,
                                        np.random.default_rng(int(rng.integers(2**31))))
                units, positions = self._fit_units(wide, peaks, levels, neighbours, locations,
                                                   nbefore, nafter, fs, durations, rng,
                                                   background)
            else:
                logger.warning("recording is sampled at %g Hz: no spike band (300 Hz and an "
                               "octave above) below its Nyquist frequency; only its background "
                               "is learned.", fs)
            starts = noise_chunks(analysed, chunk, self.noise_duration, rng)
            noise = NoiseModel.fit(analysed, peaks, masked, nbefore, nafter + nbefore, starts,
                                   chunk)
        self.noise_, self.units_ = noise, units
        self.neighbours_, self.nbefore_, self.nafter_ = neighbours, nbefore, nafter
        self.n_real_units_ = 0 if units is None else units.n_real_units
        self.peak_rate_ = len(peaks) / sum(durations)
        self.threshold_ = threshold
        self.snippet_positions_ = positions
        self.metadata_ = recording_metadata(recording)
        self.channel_ids_ = decode_array(self.metadata_["channel_ids"], "channel_ids")
        self.sampling_frequency_ = fs
        self.dtype_ = np.dtype(self.metadata_["dtype"])
        self._file_path = None
        return self

    def _fit_units(self, band, peaks, levels, neighbours, locations, nbefore, nafter, fs,
                   durations, rng, background):
        """The unit model on the first ``max_snippets`` spikes (in time order)."""
        snippets, used = spikes.snippets_at(band, peaks, neighbours, nbefore, nafter,
                                            self.max_snippets)
        if len(snippets) < 20:
            logger.warning("%d spikes detected: too few to learn units from (20 needed); the "
                           "synthetic recording will hold background only.", len(snippets))
            return None, np.zeros((0, 3), np.int64)
        # The time those snippets cover: whole segments before the last one, then up to it.
        last = used[-1]
        covered = sum(durations[:last["segment_index"]]) + last["sample_index"] / fs
        if len(used) >= len(peaks) - 2:  # every spike (but those at the very ends)
            covered = sum(durations)
        engine = None
        if self.template_model == "engine":
            template = (DualDivergenceGenerator(**RECORDING_GENERATOR_PARAMS)
                        if self.generator is None else self.generator)
            params = dict(random_state=int(rng.integers(2**31)))
            if self.verbose is not None:
                params["verbose"] = self.verbose
            engine = clone(template).set_params(**params)
            pick = np.sort(rng.choice(len(snippets), min(ENGINE_MAX_SNIPPETS, len(snippets)),
                                      replace=False))
        center = neighbours[np.argmax((neighbours >= 0).sum(axis=1))]
        layout = locations[center]  # the rows of a snippet, where the probe has them all
        row_distances = np.linalg.norm(layout[:, None] - layout[None], axis=2)
        units = UnitModel.fit(snippets if engine is None else snippets[pick],
                              used if engine is None else used[pick], locations, neighbours,
                              row_distances, fs, covered, nbefore,
                              1.0 if engine is None else len(used) / len(pick), levels,
                              self.detect_threshold, engine=engine, background=background)
        if engine is not None:  # statistics and subspace from every snippet, not the subset
            full = UnitModel.fit(snippets, used, locations, neighbours, row_distances, fs,
                                 covered, nbefore, 1.0, levels,
                                 self.detect_threshold, background=background)
            full.engine = units.engine
            units = full
        positions = np.column_stack([used["segment_index"], used["sample_index"],
                                     used["channel_index"]]).astype(np.int64)
        return units, positions

    def _check_fitted(self, what):
        if not hasattr(self, "noise_"):
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call "
                               f"fit(recording) before {what}.")

    @property
    def template_shape_(self):
        """(n_neighbours, nbefore + nafter) of a template image."""
        return (self.neighbours_.shape[1], self.nbefore_ + self.nafter_)

    # ------------------------------------------------------------------ sample
    def sample(self, durations, random_state=None, n_units=None, file_path=None, motion=None):
        """Make a lazy synthetic recording.

        Parameters
        ----------
        durations : float | list of float
            Duration in seconds of the single segment, or of each segment.
        random_state : None | int | numpy.random.Generator
            Seed of the recording (an int is used as is; otherwise one is drawn). The same
            seed gives the same units and the same traces, frame by frame.
        n_units : None | int
            Number of synthetic units; ``None`` makes as many as real clusters were found.
        file_path : None | str | path-like
            The synthesizer's file, which the recording needs to be re-created from its kwargs
            (``dump``/``load``, worker processes). ``None`` uses the file written by
            :meth:`save` or read by :func:`read_recording_synthesizer`, or else writes one once
            into SpikeInterface's temporary folder; another path is written by :meth:`save`
            (an existing file is never replaced). Keep it private.
        motion : None | spikeinterface.core.motion.Motion
            Drift: the units move as this ``Motion`` (rigid or not, one entry per segment, in
            µm along ``"x"`` or ``"y"``) says, e.g. the one
            ``spikeinterface.preprocessing.correct_motion(..., output_motion=True)`` estimated
            on the real recording (it is then in the synthetic one: it is a trace of the
            probe's movement, not of any unit). ``None``: the units stay in place. See
            :mod:`mne_dualdiv.adapters.recording.drift`. The unit guard was measured without
            drift: a sorted unit of a drifting synthetic recording came 0.03 above the real
            units' median similarity (``docs/recording.md``, 5); audit it by sorting it
            (:func:`~mne_dualdiv.adapters.recording.fidelity.fidelity_report`).

        Returns
        -------
        recording : SyntheticRecording
            The lazy recording; :meth:`SyntheticRecording.get_ground_truth` gives its spikes.
        """
        self._check_fitted("sample")
        durations = check_durations(durations)
        n_units = self.n_real_units_ if n_units is None else check_int("n_units", n_units,
                                                                       minimum=0)
        seed = seed_from(random_state)
        if file_path is None:
            file_path = self._ensure_file()
        elif check_path("file_path", file_path).resolve() != self._file_path:
            check_fname_for_writing(file_path, False, name="file_path")  # named as given
            self.save(file_path)  # refuses to replace another file
            file_path = self._file_path
        with use_verbose(self.verbose):
            return SyntheticRecording(file_path, durations, seed, n_units, motion)

    def _ensure_file(self):
        if self._file_path is None or not Path(self._file_path).is_file():
            from spikeinterface.core import get_global_tmp_folder

            folder = Path(get_global_tmp_folder()) / "mne_dualdiv"
            folder.mkdir(parents=True, exist_ok=True)
            self.save(folder / f"recording_synthesizer_{uuid.uuid4().hex}.pt")
        return Path(self._file_path)

    # ------------------------------------------------------------------ privacy
    def privacy_report(self, recording, synthetic=None, duration=60.0, max_snippets=2000,
                       random_state=None):
        """Whether units or spikes of a synthetic recording can be linked to ``recording``.

        Three tests (:mod:`~mne_dualdiv.adapters.recording.privacy`):

        - **units**: each synthetic unit's template against the real units' (the clusters
          found at fit), beside how similar distinct real units are to one another;
        - **snippets**: synthetic spikes against the real spikes the synthesizer learned from
          (members) and the real spikes it never saw (held out: the spikes of ``recording``
          after the first ``max_snippets`` of the fit);
        - **membership**: the attack ensemble of the epochs
          (:func:`~mne_dualdiv.metrics.privacy.membership_audit`) on the same snippets.

        Parameters
        ----------
        recording : spikeinterface BaseRecording
            The recording the synthesizer was fitted on.
        synthetic : None | SyntheticRecording
            A recording made by :meth:`sample`; ``None`` makes one of ``duration`` seconds.
        duration : float
            Seconds of synthetic recording made when ``synthetic`` is None.
        max_snippets : int
            Most snippets compared in each set.
        random_state : None | int | numpy.random.Generator
            Seed of the synthetic recording made, of the snippet subsets and of the ensemble.

        Returns
        -------
        report : PrivacyReport
        """
        from .privacy import PrivacyReport, snippet_tests, unit_linkage

        self._check_fitted("privacy_report")
        recording = check_recording(recording, like=self)
        max_snippets = check_int("max_snippets", max_snippets, minimum=1)
        rng = check_random_state(random_state)
        if synthetic is None:
            synthetic = self.sample(check_float("duration", duration, low=0,
                                                low_inclusive=False), random_state=rng)
        elif not isinstance(synthetic, SyntheticRecording):
            raise TypeError(f"synthetic must be None or a SyntheticRecording made by sample(), "
                            f"got {type(synthetic).__name__} instead.")
        check_recording(synthetic, "synthetic", like=self)
        if self.units_ is None:
            raise ValueError("No unit was learned from the real recording (no spike "
                             "detected): there is nothing to link.")
        fs = self.sampling_frequency_
        units = unit_linkage(spikes.band_filter(self.units_.real_templates, fs),
                             spikes.band_filter(synthetic.units.images, fs))
        # Members: the real spikes learned from; held out: the other detected real spikes.
        peaks = self._peaks(recording, rng)
        learned = {tuple(p) for p in self.snippet_positions_[:, :2].tolist()}
        is_member = np.array([(int(s), int(f)) in learned for s, f in
                              zip(peaks["segment_index"], peaks["sample_index"])], dtype=bool)
        members = self._snippets(recording, peaks[is_member], max_snippets, rng)
        heldout = self._snippets(recording, peaks[~is_member], max_snippets, rng)
        found = self._snippets(synthetic, self._peaks(synthetic, rng), max_snippets, rng)
        snippets, membership = snippet_tests(members, heldout, found, random_state=rng)
        return PrivacyReport(units=units, snippets=snippets, template_source="generated",
                             membership=membership)

    def _snippets(self, recording, peaks, max_snippets, rng):
        """Random snippets of ``recording`` at ``peaks``, cut as the fit cuts them."""
        wide = spikes.spike_band(recording, freq_min=spikes.TEMPLATE_FREQ_MIN)
        return spikes.snippets_at(wide, peaks, self.neighbours_, self.nbefore_, self.nafter_,
                                  max_snippets, rng)[0]

    def _peaks(self, recording, rng):
        band = spikes.spike_band(recording)
        levels = spikes.noise_levels(band, seed=int(rng.integers(2**31)))
        return spikes.find_peaks(band, levels, self.detect_threshold,
                                 dict(n_jobs=check_n_jobs(self.n_jobs)))

    # ------------------------------------------------------------------ I/O
    def _get_state(self):
        self._check_fitted("save")
        return _state.get_state(self)

    @fill_doc
    def save(self, fname, overwrite=False):
        """Write the fitted synthesizer to a file that reading never executes.

        It holds the real cluster templates and summary statistics of the real recording:
        keep it private.

        %(save_notes)s

        %(save_parameters)s
        """
        fname = check_fname_for_writing(fname, overwrite)
        save_state(self._get_state(), fname, overwrite=overwrite)
        self._file_path = fname.resolve()


@fill_doc
def read_recording_synthesizer(fname):
    """Read a :class:`RecordingSynthesizer` written by :meth:`RecordingSynthesizer.save`.

    %(read_parameters)s

    Returns
    -------
    synthesizer : RecordingSynthesizer
        The fitted synthesizer; recordings it makes with a seed match the saved one's.

    %(read_raises)s
    """
    fname = check_fname_for_reading(fname)
    fitted = _state.read(fname)
    template = fitted.pop("template")
    params = fitted.pop("params")
    synthesizer = RecordingSynthesizer(
        generator=None if template is None else DualDivergenceGenerator(**template), **params)
    try:
        synthesizer._check_params()
    except (TypeError, ValueError) as err:
        from ..._io import InvalidFileError

        raise InvalidFileError(f"{fname}: invalid parameters: {err}") from None
    for name, value in fitted.items():
        setattr(synthesizer, name, value)
    synthesizer._file_path = fname.resolve()
    return synthesizer

