"""``device``: where the engine, the baselines and the adapters compute, and what stays the same.

The tests that need a GPU are skipped (not failed) without CUDA; those that check the errors of
a machine without CUDA are skipped on one with it.
"""

import pickle

import numpy as np
import pytest
import torch

from mne_dualdiv import (DualDivergenceGenerator, DualDivergenceSampler, EpochsSynthesizer,
                         augment, read_generator)
from mne_dualdiv._checks import check_device
from mne_dualdiv.baselines import DDPMGenerator, VAEGenerator

pytestmark = pytest.mark.usefixtures("single_torch_thread")

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
without_cuda = pytest.mark.skipif(CUDA, reason="checks what a machine without CUDA does")
#: A small budget for the baselines: the device, not the quality, is under test.
BASELINE_BUDGET = dict(max_steps=6, batch_size=16, n_filters=4)


def images(n_images=40, seed=0):
    """Random-walk images (n, 3, 16): every pixel depends on its neighbours in time."""
    return np.random.default_rng(seed).standard_normal((n_images, 3, 16)).cumsum(-1)


@pytest.fixture(scope="module")
def fitted(tiny_params):
    return DualDivergenceGenerator(**tiny_params, random_state=0).fit(images())


# ---------------------------------------------------------------------- the check
def test_auto_takes_cuda_when_available_and_the_cpu_otherwise():
    assert check_device("auto").type == ("cuda" if CUDA else "cpu")


@pytest.mark.parametrize("device", ["cpu", "cpu:0", torch.device("cpu")])
def test_cpu_names_and_devices_give_the_cpu(device):
    assert check_device(device) == torch.device("cpu")


def test_cuda_names_are_read_without_a_gpu_when_only_the_spelling_is_checked():
    assert check_device("cuda:1", available=False) == torch.device("cuda", 1)
    assert check_device(torch.device("cuda"), available=False) == torch.device("cuda")
    assert check_device("auto", available=False) == torch.device("cpu")


@pytest.mark.parametrize("device, error, match", [
    ("gpu", ValueError, "Invalid value for the 'device' parameter. Allowed values are 'auto', "
                        "'cpu', 'cuda', 'cuda:<index>'"),
    ("mps", ValueError, "but got 'mps' instead"),
    ("cuda:x", ValueError, "but got 'cuda:x' instead"),
    ("cpu:1", ValueError, "but got 'cpu:1' instead"),
    (0, TypeError, "device must be a str .* or a torch.device, got int instead"),
    (None, TypeError, "got NoneType instead"),
])
def test_invalid_devices_are_refused_by_name(device, error, match):
    with pytest.raises(error, match=match):
        check_device(device)


@without_cuda
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda", 0)])
def test_a_cuda_device_without_cuda_is_refused_saying_so(device):
    with pytest.raises(RuntimeError, match="asks for a CUDA GPU, but CUDA is not available on "
                                           "this machine .*use device='cpu' or device='auto'"):
        check_device(device)


@needs_cuda
def test_a_cuda_index_the_machine_does_not_have_is_refused():
    with pytest.raises(ValueError, match=f"has {torch.cuda.device_count()}"):
        check_device(f"cuda:{torch.cuda.device_count()}")


# ---------------------------------------------------------------------- the engine
@without_cuda
@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_auto_and_the_cpu_fit_and_sample_the_same_bits(fitted, tiny_params, device):
    on_cpu = DualDivergenceGenerator(**tiny_params, device=device, random_state=0).fit(images())
    assert np.array_equal(on_cpu.dual_values_train_, fitted.dual_values_train_)
    assert np.array_equal(on_cpu.sample(5, random_state=1), fitted.sample(5, random_state=1))


def test_the_fitted_network_lives_on_the_cpu(fitted):
    assert {tensor.device.type for tensor in fitted.network_.state_dict().values()} == {"cpu"}


def test_invalid_devices_are_refused_before_fitting(tiny_params):
    with pytest.raises(ValueError, match="'device' parameter"):
        DualDivergenceGenerator(**tiny_params, device="gpu").fit(images())
    with pytest.raises(TypeError, match="device must be a str"):
        DualDivergenceGenerator(**tiny_params, device=1).fit(images())


@without_cuda
def test_fit_and_sample_on_a_missing_gpu_raise_naming_the_device(fitted, tiny_params):
    with pytest.raises(RuntimeError, match="device='cuda' asks for a CUDA GPU"):
        DualDivergenceGenerator(**tiny_params, device="cuda").fit(images())
    moved = pickle.loads(pickle.dumps(fitted)).set_params(device="cuda")
    with pytest.raises(RuntimeError, match="device='cuda' asks for a CUDA GPU"):
        moved.sample(2, random_state=0)


def test_a_model_saved_for_a_gpu_reads_anywhere_and_samples_on_the_cpu(fitted, tmp_path):
    for_gpu = pickle.loads(pickle.dumps(fitted)).set_params(device="cuda:0")
    for_gpu.save(tmp_path / "gpu.pt")
    loaded = read_generator(tmp_path / "gpu.pt")
    assert loaded.device == "cuda:0"
    loaded.set_params(device="cpu")
    assert np.array_equal(loaded.sample(4, random_state=2), fitted.sample(4, random_state=2))


def test_a_torch_device_is_saved_by_its_name(fitted, tmp_path):
    pickle.loads(pickle.dumps(fitted)).set_params(device=torch.device("cpu")).save(
        tmp_path / "cpu.pt")
    assert read_generator(tmp_path / "cpu.pt").device == "cpu"


def test_a_copy_or_pickle_carries_no_copy_of_the_network_on_a_device(fitted):
    holder = pickle.loads(pickle.dumps(fitted))
    # The meta device stands for a GPU on a machine without one: a copy is made and kept.
    on_device = holder._network_on(torch.device("meta"))
    assert next(on_device.parameters()).device.type == "meta"
    assert holder._network_on(torch.device("meta")) is on_device
    copied = pickle.loads(pickle.dumps(holder))
    assert "_network_copy" not in vars(copied)
    assert np.array_equal(copied.sample(3, random_state=0), fitted.sample(3, random_state=0))


# ---------------------------------------------------------------------- the baselines
@without_cuda
@pytest.mark.parametrize("cls", [VAEGenerator, DDPMGenerator])
def test_baselines_fit_and_sample_the_same_bits_on_auto_and_the_cpu(cls):
    params = dict(BASELINE_BUDGET, random_state=0)
    if cls is DDPMGenerator:
        params["n_diffusion_steps"] = 4
    default = cls(**params).fit(images())
    on_cpu = cls(**params, device="cpu").fit(images())
    assert np.array_equal(default.sample(4, random_state=1), on_cpu.sample(4, random_state=1))
    network = default.decoder_ if cls is VAEGenerator else default.denoiser_
    assert {p.device.type for p in network.parameters()} == {"cpu"}


def test_baselines_refuse_invalid_devices_by_name():
    with pytest.raises(ValueError, match="'device' parameter"):
        VAEGenerator(**BASELINE_BUDGET, device="gpu").fit(images())
    with pytest.raises(TypeError, match="device must be a str"):
        VAEGenerator(**BASELINE_BUDGET, device=None).fit(images())


@without_cuda
def test_baselines_refuse_a_missing_gpu():
    with pytest.raises(RuntimeError, match="device='cuda' asks for a CUDA GPU"):
        VAEGenerator(**BASELINE_BUDGET, device="cuda").fit(images())


# ---------------------------------------------------------------------- the adapters
def test_epochs_synthesizer_gives_its_device_to_every_generator(tiny_params,
                                                               random_walk_epochs):
    template = DualDivergenceGenerator(**tiny_params)
    synthesizer = EpochsSynthesizer(generator=template, per_condition=True, device="cpu",
                                    random_state=0).fit(random_walk_epochs())
    assert [g.device for g in synthesizer.generators_.values()] == ["cpu", "cpu"]
    assert template.device == "auto"  # the template is cloned, never changed
    kept = EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params, device="cpu"),
                             per_condition=True, random_state=0).fit(random_walk_epochs())
    assert [g.device for g in kept.generators_.values()] == ["cpu", "cpu"]


def test_epochs_synthesizer_and_sampler_refuse_a_bad_device_before_fitting(
        tiny_params, random_walk_epochs):
    template = DualDivergenceGenerator(**tiny_params)
    with pytest.raises(ValueError, match="'device' parameter"):
        EpochsSynthesizer(generator=template, device="gpu").fit(random_walk_epochs())
    with pytest.raises(TypeError, match="device must be a str"):
        DualDivergenceSampler(generator=template, device=2).fit_resample(
            images(), np.repeat([0, 1], 20))


def test_the_sampler_gives_its_device_to_every_generator(tiny_params):
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**tiny_params),
                                    device=torch.device("cpu"), random_state=0)
    sampler.fit_resample(images(), np.repeat([0, 1], 20))
    assert {str(g.device) for g in sampler.generators_.values()} == {"cpu"}


def test_a_synthesizer_saved_with_a_device_reads_back(tiny_params, tmp_path,
                                                      random_walk_epochs):
    from mne_dualdiv import read_epochs_synthesizer

    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params),
                                    device=torch.device("cpu"),
                                    random_state=0).fit(random_walk_epochs())
    synthesizer.save(tmp_path / "synthesizer.pt")
    loaded = read_epochs_synthesizer(tmp_path / "synthesizer.pt")
    assert loaded.device == "cpu"
    assert np.array_equal(loaded.sample(4, random_state=1).get_data(),
                          synthesizer.sample(4, random_state=1).get_data())


def test_augment_takes_the_device_as_an_engine_setting(tiny_params, random_walk_epochs):
    with pytest.raises(ValueError, match="'device' parameter"):
        augment(random_walk_epochs(), device="gpu", **tiny_params)
    augmented = augment(random_walk_epochs(), n_synthetic=4, device="cpu", random_state=0,
                        **tiny_params)
    assert augmented.metadata["synthetic"].sum() == 4


# ---------------------------------------------------------------------- on a GPU
@pytest.fixture(scope="module")
def fitted_on_gpu(tiny_params):
    if not CUDA:
        pytest.skip("needs a CUDA GPU")
    # No near-copy guard nor local check: a walk that lands a hair differently on the GPU
    # could then be accepted on one device and walked on on the other.
    params = dict(tiny_params, guard=False, local_check=False, random_state=0)
    return DualDivergenceGenerator(**params, device="cuda").fit(images())


@needs_cuda
def test_samples_on_the_gpu_and_the_cpu_agree_to_float_tolerance(fitted_on_gpu):
    on_gpu = fitted_on_gpu.sample(8, random_state=3)
    on_cpu = pickle.loads(pickle.dumps(fitted_on_gpu)).set_params(device="cpu").sample(
        8, random_state=3)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-3, atol=1e-3 * np.abs(on_cpu).max())


@needs_cuda
def test_a_model_fitted_on_the_gpu_reads_and_samples_on_the_cpu(fitted_on_gpu, tmp_path):
    fitted_on_gpu.save(tmp_path / "gpu.pt")
    loaded = read_generator(tmp_path / "gpu.pt").set_params(device="cpu")
    np.testing.assert_allclose(loaded.dual_values(images(5, seed=9)),
                               fitted_on_gpu.dual_values(images(5, seed=9)), rtol=1e-4,
                               atol=1e-4)


@needs_cuda
def test_baselines_sample_the_same_on_the_gpu_and_the_cpu():
    model = VAEGenerator(**BASELINE_BUDGET, device="cuda", random_state=0).fit(images())
    on_gpu = model.sample(4, random_state=1)
    on_cpu = model.set_params(device="cpu").sample(4, random_state=1)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-4, atol=1e-4 * np.abs(on_cpu).max())
