"""The fidelity report's sorter figures: a spike sorter run on both recordings, side by side.

:func:`sort_both` sorts a binary copy of each recording in a temporary folder
(:func:`sorted_figures`: ``run_sorter``, ``compute_quality_metrics`` and, with a ground truth,
``compare_sorter_to_ground_truth``), links the sorted synthetic units to the real ones
(:func:`unit_images`, :func:`~.privacy.unit_linkage`) and compares the two sides (sorted unit
counts, KS distances of the quality metrics, share of the ground truth found).
"""

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import spikes
from ._fidelity_figures import ratio
from .privacy import unit_linkage
from .sorting_templates import templates_from_sorting

#: Sorters run by :func:`~.fidelity.fidelity_report` (SpikeInterface's internal ones: numba
#: and hdbscan).
SORTERS = ("tridesclous2", "spykingcircus2")
#: Accuracy above which a ground-truth unit counts as found
#: (``compare_sorter_to_ground_truth``).
WELL_DETECTED_ACCURACY = 0.8
#: Quality metrics computed on the sorted units (``compute_quality_metrics`` names) and the
#: columns kept.
QUALITY_METRICS = ("snr", "firing_rate", "isi_violation", "amplitude_cutoff")
QUALITY_COLUMNS = ("snr", "firing_rate", "isi_violations_ratio", "amplitude_cutoff")
#: Channels of the relative-geometry templates compared by the sorted-unit linkage (the
#: synthesizer's default ``n_neighbours``).
LINKAGE_NEIGHBOURS = 16


def same_stretch(sorting, recording_part):
    """``sorting`` cut to the segments and frames of ``recording_part`` (its first seconds)."""
    from spikeinterface.core import append_sortings, select_segment_sorting

    n_segments = recording_part.get_num_segments()
    pieces = [select_segment_sorting(sorting, [segment]).frame_slice(
        0, recording_part.get_num_samples(segment_index=segment)) for segment in range(n_segments)]
    return pieces[0] if n_segments == 1 else append_sortings(pieces)


def sort_both(parts, sorter, folder, seed, job, sorter_params):
    """The sorter figures of both recordings, from binary copies in a temporary folder."""
    import importlib.util

    # Both sorters declare these dependencies (their is_installed()).
    missing = [name for name in ("numba", "hdbscan") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"sorter={sorter!r} needs {' and '.join(missing)}: pip install "
                          f"{' '.join(missing)}")
    workdir = Path(tempfile.mkdtemp(prefix="mne_dualdiv_sorting_",
                                    dir=None if folder is None else str(folder)))
    try:
        figures = {name: sorted_figures(part, ground_truth, sorter, workdir / name, seed, job,
                                        sorter_params)
                   for name, (part, ground_truth) in parts.items()}
        real, synthetic = figures["real"], figures["synthetic"]
        # Unit linkage: the sorted synthetic units against the real units (the real ground
        # truth where given, else the units sorted in the real recording).
        real_units = (same_stretch(parts["real"][1], parts["real"][0])
                      if parts["real"][1] is not None else real["sorting"])
        linkage = None
        if len(real_units.unit_ids) >= 2 and len(synthetic["sorting"].unit_ids):
            linkage = unit_linkage(unit_images(real["saved"], real_units, seed, job),
                                   unit_images(synthetic["saved"], synthetic["sorting"], seed,
                                               job))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def found(accuracy):
        if accuracy is None:
            return None
        return float(np.mean(accuracy >= WELL_DETECTED_ACCURACY)) if len(accuracy) else (
            float("nan"))

    return dict(
        sorter=sorter, sorting_seconds_real=real["seconds"],
        sorting_seconds_synthetic=synthetic["seconds"], sorted_units_real=real["n_units"],
        sorted_units_synthetic=synthetic["n_units"],
        sorted_units_ratio=ratio(synthetic["n_units"], real["n_units"]),
        quality_metrics_real=real["metrics"], quality_metrics_synthetic=synthetic["metrics"],
        ks_snr=ks(real["metrics"]["snr"], synthetic["metrics"]["snr"]),
        ks_firing_rate=ks(real["metrics"]["firing_rate"], synthetic["metrics"]["firing_rate"]),
        ground_truth_accuracy_real=real["accuracy"],
        ground_truth_accuracy_synthetic=synthetic["accuracy"],
        ground_truth_found_real=found(real["accuracy"]),
        ground_truth_found_synthetic=found(synthetic["accuracy"]), sorted_unit_linkage=linkage)


def sorted_figures(recording_part, ground_truth, sorter, folder, seed, job, sorter_params):
    """Sort a binary copy of ``recording_part``; quality metrics and ground-truth accuracy."""
    import spikeinterface.comparison as scmp
    import spikeinterface.sorters as ss
    from spikeinterface.core import NumpySorting, create_sorting_analyzer

    try:  # SpikeInterface >= 0.104 moved the quality metrics
        from spikeinterface.metrics import compute_quality_metrics
    except ImportError:  # pragma: no cover - older SpikeInterface
        from spikeinterface.qualitymetrics import compute_quality_metrics

    started = time.perf_counter()
    saved = recording_part.save(folder=folder / "binary", format="binary", **job)
    params = dict(seed=seed, job_kwargs=dict(job))
    params.update(sorter_params or {})
    sorting = ss.run_sorter(sorter, saved, folder=folder / sorter, remove_existing_folder=True,
                            verbose=False, raise_error=True, **params)
    sorting = NumpySorting.from_sorting(sorting)  # in memory: the folder is removed after
    metrics = {column: np.zeros(0) for column in QUALITY_COLUMNS}
    if len(sorting.unit_ids):
        analyzer = create_sorting_analyzer(sorting, saved, format="memory", sparse=True,
                                           **job)
        analyzer.compute(["random_spikes", "waveforms", "templates", "noise_levels",
                          "spike_amplitudes"], extension_params=dict(
                              random_spikes=dict(seed=seed),
                              noise_levels=dict(random_slices_kwargs=dict(seed=seed))), **job)
        table = compute_quality_metrics(analyzer, metric_names=list(QUALITY_METRICS),
                                        skip_pc_metrics=True)
        metrics = {column: table[column].to_numpy(dtype=float) if column in table
                   else np.full(len(sorting.unit_ids), np.nan) for column in QUALITY_COLUMNS}
    accuracy = None
    if ground_truth is not None:
        comparison = scmp.compare_sorter_to_ground_truth(
            same_stretch(ground_truth, recording_part), sorting, exhaustive_gt=True)
        accuracy = comparison.get_performance()["accuracy"].to_numpy(dtype=float)
    return dict(n_units=len(sorting.unit_ids), metrics=metrics, accuracy=accuracy,
                seconds=time.perf_counter() - started, sorting=sorting, saved=saved)


def unit_images(recording, sorting, seed, job):
    """Templates of ``sorting``'s units in relative geometry (the synthesizer's layout)."""
    fs = recording.sampling_frequency
    nbefore, nafter = int(round(1.5e-3 * fs)), int(round(2.5e-3 * fs))
    neighbours = spikes.neighbourhoods(spikes.channel_locations(recording),
                                       LINKAGE_NEIGHBOURS)
    return templates_from_sorting(spikes.spike_band(recording), sorting, neighbours, nbefore,
                                  nafter, seed=seed, job=job)[0]


def ks(real, synthetic):
    """Two-sample Kolmogorov-Smirnov statistic of the finite values (``nan`` if a side has
    none)."""
    from scipy.stats import ks_2samp

    real, synthetic = np.asarray(real, float), np.asarray(synthetic, float)
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if not len(real) or not len(synthetic):
        return float("nan")
    return float(ks_2samp(real, synthetic).statistic)
