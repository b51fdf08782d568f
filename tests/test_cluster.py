"""Many fits on a cluster: per-condition fits and sampling go through joblib, so that
``joblib.parallel_backend("dask")`` spreads them over a ``dask.distributed`` cluster."""

import joblib
import numpy as np
import pytest

from mne_dualdiv import DualDivergenceGenerator, DualDivergenceSampler, EpochsSynthesizer

distributed = pytest.importorskip("distributed")

pytestmark = [pytest.mark.distributed, pytest.mark.usefixtures("single_torch_thread")]


def labelled_images(n_per_class=20, seed=0):
    """Three classes of random-walk images (3 channels x 16 times) with their labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3 * n_per_class, 3, 16)).cumsum(-1)
    return X, np.repeat(["a", "b", "c"], n_per_class)


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster, one thread each. Its workers are threads of this process:
    worker processes pass too, but importing torch and MNE in each took 19 s of the 26 s
    on 2 cores; the pickling they add is tested in ``test_device.py``."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def run_on_cluster(client, function):
    """``function()`` inside ``joblib.parallel_backend("dask")``; its result and the workers
    that ran tasks."""
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        result = function()
    return result, {task["worker"] for task in stream.data}


def test_a_dask_cluster_fits_and_samples_every_class_as_one_process_does(client, tiny_params):
    X, y = labelled_images()

    def resample():
        return DualDivergenceSampler(generator=DualDivergenceGenerator(**tiny_params),
                                     n_synthetic=5, random_state=0).fit_resample(X, y)

    X_one, y_one = resample()
    (X_cluster, y_cluster), workers = run_on_cluster(client, resample)
    assert workers and workers <= set(client.scheduler_info()["workers"])
    np.testing.assert_array_equal(X_cluster, X_one)
    np.testing.assert_array_equal(y_cluster, y_one)


def test_a_shared_dual_space_samples_its_conditions_on_the_cluster_as_one_process_does(
        client, tiny_params, random_walk_epochs):
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params),
                                    random_state=0).fit(random_walk_epochs(8))
    assert not synthesizer.per_condition_
    one_process = synthesizer.sample(6, random_state=1)
    on_cluster, workers = run_on_cluster(client, lambda: synthesizer.sample(6, random_state=1))
    assert workers
    np.testing.assert_array_equal(on_cluster.get_data(), one_process.get_data())
    np.testing.assert_array_equal(on_cluster.events, one_process.events)
