"""Synthetic units: new templates learned from real spike snippets, and their spike trains.

Fit (:meth:`UnitModel.fit`), on the snippets of detected peaks (relative geometry: the ``k``
channels nearest each peak channel, row 0 the peak channel):

- a principal subspace of the snippets (PCA; the components well above the noise floor);
- a light clustering (HDBSCAN on the first principal components and the peak depth), used
  only for population statistics: how many units, their firing rates, bursting, amplitude
  and amplitude jitter, the refractory period, and the real templates (cluster means) the
  guard keeps synthetic units away from;
- the template model: ``"gaussian"``, a Gaussian in the principal subspace, or
  ``"engine"``, a :class:`~mne_dualdiv.DualDivergenceGenerator` fitted on the snippets
  (``docs/recording.md`` compares the two; the default follows that measurement).

Draw (:meth:`UnitModel.draw_units`): candidate templates from the model, projected on the
principal subspace (denoised), aligned on their trough, tapered, and kept only if their best
lag-tolerant cosine similarity (in the spike band) to every real template is below the
*guard*: the 25th percentile of the real units' similarities to their most similar distinct
real unit (and at least :data:`GUARD_MARGIN` below their median). No synthetic unit is then
closer to a real unit than real units are to one another. Each unit gets a peak channel
drawn from the real peaks' channels, an amplitude and firing statistics drawn from one real
cluster (with jitter): amplitude and rate alone name no unit.

Spike trains: :mod:`.trains`.
"""

import functools

import numpy as np

from ..._logging import logger
from .clustering import cluster_features, cluster_units, weighted_pca
from .spikes import (EXCLUDE_S, align_and_taper, band_filter, best_similarity,
                     collision_share, count_peaks)
from . import satellites as second_places
from .satellites import SATELLITE_COLUMNS
from .trains import cluster_firing, join_locked, late_dip

#: Clusters at least this similar (spike band) are pieces of one unit, not distinct units
#: (distinct simulated units reached 0.99 at most, over-split halves 0.99-1.0).
DUPLICATE = 0.99
#: Quantile of the real units' nearest-distinct similarities used as the guard (see
#: ``_guards``): the audit tests the median.
GUARD_QUANTILE = 0.25
#: The guard stays at least this far below the median: a sorter's template of a synthetic
#: unit came out up to 0.022 more similar to a real unit than the generated one, and on
#: look-alike units (SpikeInterface's, 0.88-0.96) the 25th percentile is the median.
GUARD_MARGIN = 0.05
#: Guard used when fewer than two real clusters exist (no real pair to measure).
DEFAULT_GUARD = 0.9
#: Bounds of the amplitude jitter (coefficient of variation) of a unit's spikes.
AMPLITUDE_CV_BOUNDS = (0.03, 0.4)
#: Principal components kept: those above 3 x the median eigenvalue, within these bounds.
N_COMPONENTS_BOUNDS = (3, 20)
#: Candidates drawn per unit wanted before giving up (the guard refuses the rest).
CANDIDATES_PER_UNIT = 1000
#: Spread of the Gaussian's candidates (a factor on its standard deviations) in each quarter of
#: that budget. Where real units differ widely (tests' 8-unit recording: nearest distinct
#: similarities 0.41-0.88, guard 0.53) the candidates are typical shapes, near some real unit:
#: 0 of 9000 passed the checks there; 3, 10 and 31 of 3000 at 1.25, 1.5 and 2.
SPREADS = (1.0, 1.25, 1.5, 2.0)
#: Deepest secondary lobe allowed, as a share of the detection threshold: below half of it,
#: the background noise (a fifth of the threshold, in MAD) rarely lifts a lobe over it.
SECONDARY_LOBE = 0.5
#: Least amplitude of a unit, a share of the threshold: partly detected, as the real units
#: near it (``trains.below_threshold``), its trough above :data:`SECONDARY_LOBE`'s level.
MIN_AMPLITUDE = 0.6
#: Candidates refused for hiding their second place before a unit is kept without it: each
#: one passed the guard, which a strict guard makes rare (``hard32`` seed 1, guard 0.69: with
#: 20, 6 of 10 units were found in the 10,000 candidates, all 10 before second places).
MAX_SECOND_MISSES = 3
#: Spread (µm) of the placement density around each real cluster's peak channel.
PLACEMENT_SPREAD_UM = 40.0
#: Log-normal jitter of a unit's firing rate and amplitude around its source cluster's, at
#: most half the clusters' own spread (standard deviation of the log rates): SpikeInterface's
#: units all fire at about 15 Hz (sorted: 14.4-16.1 Hz), and a jitter of 0.1 alone set the
#: synthetic units' rates at a KS distance of 0.47-0.49 from them over 3 seeds (issue 17).
RATE_JITTER, AMPLITUDE_JITTER, RATE_JITTER_SHARE = 0.1, 0.1, 0.5
#: Column order of ``UnitModel.cluster_stats``.
STAT_NAMES = ("rate_hz", "amplitude", "amplitude_cv", "burst_probability", "burst_interval_s")


def _guards(templates):
    """The guard against real units and the distinctness of synthetic units.

    Similarities are taken in the spike band (what sorters, unit trackers and the privacy
    audit see). Clusters more similar than :data:`DUPLICATE` are taken as pieces of one
    over-split unit, not as distinct units. The guard is the :data:`GUARD_QUANTILE` quantile
    of each real unit's similarity to its nearest distinct unit, and at least
    :data:`GUARD_MARGIN` below their median that the audit tests, because a sorter's template
    of a synthetic unit (an average of noisy spikes, another alignment) scatters around the
    generated one. Distinctness among synthetic units: the most similar distinct real pair.
    """
    if len(templates) < 2:
        return DEFAULT_GUARD, DEFAULT_GUARD
    similarity = best_similarity(templates, templates)
    np.fill_diagonal(similarity, -np.inf)
    similarity = np.where(similarity < DUPLICATE, similarity, -np.inf)
    nearest = similarity.max(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    if not len(nearest):
        return DEFAULT_GUARD, DEFAULT_GUARD
    guard = min(np.quantile(nearest, GUARD_QUANTILE), np.median(nearest) - GUARD_MARGIN)
    return float(guard), float(nearest.max())


class UnitModel:
    """Population of units learned from snippets; draws new units and their firing.

    Attributes
    ----------
    mean, components, variances : ndarray
        The snippets' principal subspace (``components`` rows are unit vectors).
    real_templates : ndarray, shape (n_clusters, k, n_times)
        Cluster means (relative geometry): what the guard keeps away from.
    cluster_stats : ndarray, shape (n_clusters, 5)
        Per real cluster: rate (Hz), median peak amplitude (stored units), amplitude CV,
        burst probability, burst interval (s) (:data:`STAT_NAMES`).
    placement_weights : ndarray, shape (n_channels,)
        Probability of each channel as a synthetic unit's peak channel: the real clusters'
        peak channels, smoothed over 40 µm (units are placed where real units are dense,
        not on the real units' own channels).
    row_distances : ndarray, shape (k, k)
        Distances (µm) between the rows of a template (the neighbourhood layout).
    refractory : float
        Refractory period (s).
    guard : float
        Largest similarity allowed between a synthetic unit and any real unit: the median
        similarity of a real unit to its most similar distinct real unit.
    distinct : float
        Largest similarity allowed between two synthetic units: the most similar distinct
        real pair's (synthetic units differ from one another at least as real ones do).
    nbefore : int
        Frames before the trough in a template.
    sampling_frequency : float
        In Hz.
    engine : None | DualDivergenceGenerator
        The fitted engine, for ``template_model="engine"``.
    satellites : ndarray, shape (n_clusters, 4)
        Each cluster's second place (:data:`.satellites.SATELLITE_COLUMNS`; zeros: none).
    """

    def __init__(self, mean, components, variances, real_templates, cluster_stats,
                 placement_weights, row_distances, refractory, guard, distinct, nbefore,
                 sampling_frequency, engine=None, satellites=None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.components = np.asarray(components, dtype=np.float64)
        self.variances = np.asarray(variances, dtype=np.float64)
        self.real_templates = np.asarray(real_templates, dtype=np.float32)
        self.cluster_stats = np.asarray(cluster_stats, dtype=np.float64)
        self.placement_weights = np.asarray(placement_weights, dtype=np.float64)
        self.row_distances = np.asarray(row_distances, dtype=np.float64)
        self.refractory = float(refractory)
        self.guard = float(guard)
        self.distinct = float(distinct)
        self.nbefore = int(nbefore)
        self.sampling_frequency = float(sampling_frequency)
        self.engine = engine
        self.satellites = (np.zeros((len(self.cluster_stats), len(SATELLITE_COLUMNS)))
                           if satellites is None else np.asarray(satellites, dtype=np.float64))

    @property
    def n_real_units(self):
        return len(self.cluster_stats)

    @property
    def shape(self):
        """(k, n_times) of a template image."""
        return self.real_templates.shape[1:]

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, snippets, peaks, locations, neighbours, row_distances, sampling_frequency,
            duration, nbefore, scale, noise_levels, detect_threshold, engine=None,
            background=None):
        """Learn the unit population from ``snippets`` of ``peaks``.

        Parameters
        ----------
        snippets : ndarray, shape (n, k, n_times)
            Snippets (stored units; high-passed at ``spikes.TEMPLATE_FREQ_MIN``), trough at
            ``nbefore`` on row 0. Their shapes
            (each divided by its trough) are modelled; amplitudes come from the clusters.
        peaks : structured ndarray
            The detected peaks the snippets were cut at (same order).
        locations : ndarray, shape (n_channels, 2)
            Channel positions (µm).
        neighbours : ndarray of int, shape (n_channels, k)
            The channel of each snippet row for each peak channel (-1: off the probe).
        row_distances : ndarray, shape (k, k)
            Distances (µm) between the rows of a snippet.
        sampling_frequency, duration : float
            Of the analysed recording (Hz, s).
        nbefore : int
            Frames before the trough.
        scale : float
            Detected peaks per snippet (the snippets may be a subsample).
        noise_levels : ndarray, shape (n_channels,)
            Each channel's noise level (standard deviation) in the band the peaks' amplitudes
            were measured in: removed from the spread of the clusters' amplitudes.
        detect_threshold : float
            The peaks' detection threshold, in noise levels: near it, a cluster's amplitudes
            and rate are those of the spikes it let through (:func:`.trains.below_threshold`).
        engine : None | DualDivergenceGenerator
            An unfitted engine to fit on the snippets (``template_model="engine"``).
        background : None | detection.Background
            The recording's background in the detection band: the share of a unit near the
            threshold that the detector found is measured on it (:mod:`.detection`); ``None``:
            inferred from a normal (:func:`.trains.below_threshold`).
        """
        # Shapes apart from amplitudes: each snippet divided by its trough on its peak
        # channel (at least the detection threshold). Amplitudes are drawn separately.
        troughs = np.maximum(-snippets[:, 0, nbefore].astype(np.float64), 1e-12)
        flat = snippets.reshape(len(snippets), -1).astype(np.float64) / troughs[:, None]
        # Weighted by squared trough (signal-to-noise ratio): a small spike's shape is mostly
        # noise once divided by its trough.
        mean, components, variances = weighted_pca(flat, troughs ** 2)
        n_keep = int(np.clip((variances > 3 * np.median(variances)).sum(), *N_COMPONENTS_BOUNDS))
        n_keep = min(n_keep, len(variances))
        features = cluster_features(snippets, peaks, locations)
        labels, clusters = cluster_units(snippets, features, peaks, locations, neighbours,
                                         sampling_frequency, noise_levels, detect_threshold)
        # Every detected spike belongs to some unit: HDBSCAN's noise points (15-18 % of the
        # spikes of the benchmark recordings) go to the nearest cluster's firing (shapes and
        # amplitudes stay on the core members), or the rates fall short of the units'.
        centres = np.array([features[labels == u].mean(axis=0) for u in clusters])
        firing, noise = labels.copy(), labels < 0
        firing[noise] = np.asarray(clusters)[np.linalg.norm(
            features[noise][:, None] - centres[None], axis=2).argmin(axis=1)]
        frames = peaks["sample_index"] + 10**12 * peaks["segment_index"].astype(np.int64)
        amplitudes = np.abs(peaks["amplitude"].astype(np.float64))
        levels = noise_levels[peaks["channel_index"]]
        ids = list(clusters)
        templates = np.array([snippets[labels == u].mean(axis=0) for u in ids], np.float32)
        band = band_filter(templates, sampling_frequency)
        homes = np.array([np.bincount(peaks["channel_index"][labels == u]).argmax() for u in ids])
        depths = [np.median(amplitudes[labels == u]) for u in ids]
        dips = functools.partial(late_dip, band, homes, depths, neighbours, locations, nbefore,
                                 sampling_frequency)
        firing, clusters, repeat_of = join_locked(frames, firing, ids, amplitudes,
                                                  sampling_frequency, dips)
        templates, band, homes = (a[[ids.index(u) for u in clusters]]
                                  for a in (templates, band, homes))
        responses = None if background is None else [
            functools.partial(background.response, band[i], home, detect_threshold * noise_levels)
            for i, home in enumerate(homes)]
        stats, refractory = cluster_firing(frames, labels, firing, clusters, amplitudes, levels,
                                           detect_threshold, sampling_frequency, duration / scale,
                                           responses)
        satellites = second_places.measure(frames, peaks["channel_index"], amplitudes, levels,
                                           firing, repeat_of, clusters, locations,
                                           detect_threshold, sampling_frequency)
        stats[:, 2] = np.clip(stats[:, 2], *AMPLITUDE_CV_BOUNDS)
        guard, distinct = _guards(band)
        stats[:, 0] /= collision_share(band, homes, neighbours, locations, stats[:, 0],
                                       stats[:, 1])
        spread = np.linalg.norm(locations[:, None] - locations[homes][None], axis=2)
        weights = np.exp(-0.5 * (spread / PLACEMENT_SPREAD_UM) ** 2).sum(axis=1)
        if engine is not None:
            logger.info("Fitting the engine on %d snippets of %d x %d", *snippets.shape)
            engine = engine.fit(flat.reshape(snippets.shape))
        return cls(mean, components[:n_keep], variances[:n_keep], templates, np.array(stats),
                   weights / weights.sum(), row_distances, refractory, guard, distinct,
                   nbefore, sampling_frequency, engine, satellites)

    # ------------------------------------------------------------------ draw
    def candidates(self, n, rng, spread=1.0):
        """``n`` candidates (denoised on the subspace, aligned, tapered); None if the engine fails.

        ``spread`` multiplies the Gaussian's standard deviations (not used by the engine). The
        engine fails when its walks all fail its own checks (seen on SpikeInterface's units).
        """
        if self.engine is None:
            z = rng.standard_normal((n, len(self.variances))) * np.sqrt(self.variances) * spread
        else:
            try:
                images = self.engine.sample(n, random_state=rng)
            except RuntimeError as err:  # no walk passed the engine's own checks
                logger.warning("The engine gave no template candidates: %s", err)
                return None
            z = (images.reshape(n, -1) - self.mean) @ self.components.T
        flat = z @ self.components + self.mean
        return align_and_taper(flat.reshape(n, *self.shape).astype(np.float32), self.nbefore)

    def screened_candidates(self, n, rng, spread=1.0):
        """:meth:`candidates`, band-passed, with their best similarity to a real unit and
        whether their trough is on their own channel (row 0), as every real snippet's is.

        Returns None where :meth:`candidates` does, else ``(candidates, filtered, to_real,
        home)``.
        """
        candidates = self.candidates(n, rng, spread)
        if candidates is None:
            return None
        filtered = band_filter(candidates, self.sampling_frequency)
        to_real = best_similarity(filtered, self.real_band).max(axis=1)
        return candidates, filtered, to_real, candidates.min(axis=2).argmin(axis=1) == 0

    def single_peak_scale(self, filtered, amplitude, threshold, cv=0.0, distances=None):
        """The factor bringing ``filtered``'s trough to ``amplitude``, if it then has one peak.

        ``filtered`` is a band-passed candidate (k, n_times); None when its trough is not
        negative, or when a locally exclusive detector finds other than exactly one peak in the
        scaled image at :data:`SECONDARY_LOBE` times ``threshold``, divided by ``1 + 2 cv``
        (a spike twice its amplitude CV above the unit's must not lift a lobe over it either).
        ``distances`` (k, k): between the rows where the unit is placed (``inf`` off the
        probe: those rows are dropped); ``None``: :attr:`row_distances`.
        """
        exclude = max(1, int(round(EXCLUDE_S * self.sampling_frequency)))
        trough = -filtered[0, self.nbefore - exclude:self.nbefore + exclude].min()
        if trough <= 0:
            return None
        scale = amplitude / trough
        distances = self.row_distances if distances is None else distances
        on = np.isfinite(np.diag(distances))
        n_peaks = count_peaks(scale * filtered[on], SECONDARY_LOBE * threshold / (1 + 2 * cv),
                              distances[on][:, on], exclude)
        return scale if n_peaks == 1 else None

    @functools.cached_property
    def real_band(self):
        """The real templates in the spike band, as the guard compares them."""
        return band_filter(self.real_templates, self.sampling_frequency)

    def accept(self, filtered, to_real, amplitude, threshold, cv=0.0, placed=None):
        """Whether a band-passed candidate passes the guard and the single-peak check as placed.

        ``to_real``: its best similarity to a real unit on every row; ``placed``: row
        distances where it lands (:meth:`single_peak_scale`). Rows off the probe there are
        not in the recording (nor in a sorter's template of it), and without them a candidate
        can be closer to a real unit: the guard sees it without them.

        Returns
        -------
        None | tuple
            ``(scale, on, seen, similarity)``: the factor to its amplitude, the rows on the
            probe, the candidate as seen there, its best similarity to a real unit.
        """
        on = np.ones(len(filtered), bool) if placed is None else np.isfinite(np.diag(placed))
        seen = filtered * on[:, None]
        similarity = float(to_real if on.all() else best_similarity(
            seen[None], self.real_band).max())
        if similarity >= self.guard:
            return None
        scale = self.single_peak_scale(filtered, amplitude, threshold, cv, placed)
        return None if scale is None else (scale, on, seen, similarity)

    def draw_units(self, n_units, rng, threshold, distances=None, layout=None):
        """New unit templates and their placement and firing statistics.

        A candidate is kept when (1) its trough is on its own channel (row 0), as every real
        snippet's is, (2) its best similarity to every real unit (its rows off the probe where
        it is placed left out, as they are in the recording) is below :attr:`guard` and
        to every unit kept before below :attr:`distinct`, (3) scaled to the amplitude drawn
        for it, a locally exclusive detector finds exactly one peak in it (band-passed) at
        half the threshold, as it does in a real spike: a template with a secondary lobe near
        the threshold would make many of its spikes count twice, and (4) where its source
        cluster has a second place, a second footprint is found that a detector sees beside
        it (:mod:`.satellites`).

        Parameters
        ----------
        n_units : int
            Units wanted (fewer are returned, with a warning, when too many candidates are
            refused).
        rng : numpy.random.Generator
        threshold : float
            Detection threshold (stored units). Amplitudes are drawn at least
            :data:`MIN_AMPLITUDE` times it.
        distances : None | ndarray, shape (n_channels, k, k)
            Row distances of a unit placed at each channel (``spikes.row_distances``), for
            the single-peak check where the unit lands: the layout of the snippets (``None``)
            differs at a probe's edges and between its columns, and a lobe 60 µm from the
            trough, within the detector's radius there, was a peak of its own on the probe.
        layout : None | tuple
            ``(locations, neighbours)``: channel positions (µm) and the channel of each
            template row at each peak channel, with ``distances``, for the second footprints
            of units drawn from clusters with a second place (:mod:`.satellites`); a
            candidate whose second place no detector would find is refused (at most
            :data:`MAX_SECOND_MISSES` times per unit, then the unit has one footprint).
            None: no second footprints.

        Returns
        -------
        units : dict
            ``templates`` (n, k, n_times) scaled to their amplitude, ``channels`` (peak
            channel of each), ``stats`` (n, 5) as :attr:`cluster_stats`, ``similarity`` (best
            similarity of each to a real unit), ``satellites`` (their second footprints, as
            :func:`.satellites.draw` gives them).
        """
        # Firing and amplitude statistics: the real clusters' in turn (all of them before any
        # repeats, so that n_units = n_clusters keeps the real total rate), jittered.
        n_rounds = -(-max(n_units, 1) // self.n_real_units)
        source = np.concatenate([rng.permutation(self.n_real_units) for _ in range(n_rounds)])
        stats = self.cluster_stats[source[:n_units]].copy()
        log_rates = np.log(np.maximum(self.cluster_stats[:, 0], 1e-6))
        jitter = min(RATE_JITTER, RATE_JITTER_SHARE * log_rates.std())
        stats[:, 0] *= np.exp(jitter * rng.standard_normal(n_units))
        stats[:, 1] *= np.exp(AMPLITUDE_JITTER * rng.standard_normal(n_units))
        stats[:, 1] = np.maximum(stats[:, 1], MIN_AMPLITUDE * threshold)
        channels = rng.choice(len(self.placement_weights), size=n_units, p=self.placement_weights)
        kept, kept_band, best_real, seconds = [], [], [], []
        misses = np.zeros(n_units, dtype=int)
        tried, batch, budget = 0, max(8, 4 * n_units), CANDIDATES_PER_UNIT * max(n_units, 1)
        while len(kept) < n_units and tried < budget:
            spread = SPREADS[min(len(SPREADS) - 1, tried * len(SPREADS) // budget)]
            screened = self.screened_candidates(batch, rng, spread)
            if screened is None:  # another batch would fail the same way, as slowly
                break
            tried += batch
            candidates, filtered, to_real, home = screened
            for i in np.flatnonzero(home):
                slot = len(kept)
                passed = self.accept(filtered[i], to_real[i], stats[slot, 1], threshold,
                                     stats[slot, 2], None if distances is None
                                     else distances[channels[slot]])
                if passed is None:
                    continue
                scale, on, seen, similarity = passed
                if kept_band and best_similarity(seen[None],
                                                 np.array(kept_band)).max() >= self.distinct:
                    continue
                second = None
                if layout is not None and self.satellites[source[slot], 0] > 0 and (
                        misses[slot] < MAX_SECOND_MISSES):
                    second = second_places.draw(
                        self, scale * candidates[i] * on[:, None], channels[slot],
                        source[slot], stats[slot], rng, threshold, *layout, distances)
                    if second is None:  # another candidate may leave its second place seen
                        misses[slot] += 1
                        continue
                kept.append(scale * candidates[i] * on[:, None])
                kept_band.append(seen)
                best_real.append(float(similarity))
                seconds.append(second)
                if len(kept) == n_units:
                    break
        if len(kept) < n_units:
            logger.warning("The unit guard (similarity %.3f) and the single-peak check refused "
                           "all but %d of %d candidate templates: the synthetic recording has "
                           "%d units instead of %d.", self.guard, len(kept), tried, len(kept),
                           n_units)
        stats = stats[:len(kept)]
        if 0 < len(kept) < n_units:  # the kept units carry the population's whole firing
            stats[:, 0] *= self.cluster_stats[:, 0].sum() * n_units / self.n_real_units / (
                stats[:, 0].sum())
        templates = np.array(kept, dtype=np.float32).reshape(len(kept), *self.shape)
        return dict(templates=templates, channels=channels[:len(kept)], stats=stats,
                    similarity=np.array(best_real),
                    satellites=second_places.collect(seconds, self.shape))
