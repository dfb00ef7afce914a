"""Scale-out with the optional ``dask`` extra.

dask-ml's ``Incremental`` streams a dask array through ``partial_fit`` block by
block and ``ParallelPostFit`` transforms it blockwise; joblib's dask backend
runs a ``GridSearchCV`` on a ``dask.distributed`` cluster (here a loopback
``LocalCluster``). Each result must equal the plain in-memory run.
"""

import logging
import warnings

import joblib
import numpy as np
import pytest
import threadpoolctl
import torch
from _registry import ESTIMATOR_CLASSES
from sklearn.base import clone
from sklearn.datasets import load_digits

from skae import Autoencoder

da = pytest.importorskip("dask.array")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
distributed = pytest.importorskip("dask.distributed")

FAMILIES = ESTIMATOR_CLASSES


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data / 16.0, data.target


def _small(Estimator, **params):
    params = {
        "n_components": 4,
        "hidden_layer_sizes": (16,),
        "batch_size": 40,
        "random_state": 0,
        "device": "cpu",
        **params,
    }
    return Estimator(**params)


@pytest.mark.parametrize("Estimator", FAMILIES, ids=lambda cls: cls.__name__)
def test_incremental_equals_partial_fit_on_the_blocks_in_order(digits, Estimator):
    X = digits[0][:300]  # float64: cast to float32 block by block
    dX = da.from_array(X, chunks=(100, -1))
    estimator = _small(Estimator)

    incremental = dask_ml_wrappers.Incremental(estimator, shuffle_blocks=False).fit(dX)

    reference = clone(estimator)
    for start in range(0, len(X), 100):
        reference.partial_fit(X[start : start + 100])
    fitted = incremental.estimator_
    assert fitted.n_iter_ == reference.n_iter_ == 3  # one epoch per block
    assert fitted.loss_curve_ == reference.loss_curve_
    np.testing.assert_array_equal(fitted.transform(X), reference.transform(X))


def test_incremental_shuffled_blocks_follow_its_random_state(digits):
    X = digits[0][:400]
    dX = da.from_array(X, chunks=(100, -1))
    estimator = _small(Autoencoder)
    incremental = dask_ml_wrappers.Incremental(estimator, random_state=3).fit(dX)

    order = list(range(4))
    np.random.RandomState(3).shuffle(order)  # dask-ml's block order
    assert order != sorted(order)
    reference = clone(estimator)
    for block in order:
        reference.partial_fit(X[100 * block : 100 * (block + 1)])
    assert incremental.estimator_.loss_curve_ == reference.loss_curve_
    np.testing.assert_array_equal(incremental.estimator_.transform(X), reference.transform(X))


def test_blockwise_transform_equals_transform_of_the_whole(digits):
    X = digits[0][:500]
    dX = da.from_array(X, chunks=(128, -1))  # uneven last block
    ae = _small(Autoencoder, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 3 epochs
        ae.fit(X)
    expected = ae.transform(X)

    # ParallelPostFit maps transform over the blocks; the lazy result's shape
    # metadata echoes the input's columns, the computed array is right.
    Z = dask_ml_wrappers.ParallelPostFit(ae).transform(dX)
    assert isinstance(Z, da.Array)
    np.testing.assert_array_equal(Z.compute(), expected)

    # map_blocks with explicit chunks gives correct metadata as well.
    Z = dX.map_blocks(ae.transform, chunks=(dX.chunks[0], (ae.n_components,)), dtype=np.float32)
    assert Z.shape == expected.shape and Z.dtype == np.float32
    np.testing.assert_array_equal(Z.compute(), expected)

    # And the way back, blockwise.
    recon = Z.map_blocks(ae.inverse_transform, chunks=dX.chunks, dtype=np.float32)
    np.testing.assert_array_equal(recon.compute(), ae.inverse_transform(expected))


def _grid_search(X, y):
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    pipe = Pipeline(
        [("scale", MinMaxScaler()), ("ae", Autoencoder()), ("clf", KNeighborsClassifier())]
    )
    # No held-out rows: on 160 rows a fit would otherwise train some 20
    # networks to decide its start, and the cluster, not the start, is tested.
    ae = Autoencoder(
        hidden_layer_sizes=(16,), max_iter=10, early_stopping=False, random_state=0, device="cpu"
    )
    grid = [
        {"ae": [PCA()], "ae__n_components": [5, 10]},
        {"ae": [ae], "ae__n_components": [5, 10]},
    ]
    return GridSearchCV(pipe, grid, cv=3).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_a_local_cluster_matches_the_local_run(digits):
    X, y = digits[0][:240], digits[1][:240]

    # dask starts its workers with OMP_NUM_THREADS=1 and friends: run the local
    # search on one thread as well (torch and BLAS), so both compute exactly the
    # same thing, and fast on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(1):
            local = _grid_search(X, y)
    finally:
        torch.set_num_threads(threads)

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit="1GiB",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            remote = _grid_search(X, y)
        # The cross-validation fits ran on the cluster's workers.
        assert stream.data and {task["worker"] for task in stream.data} <= workers
    assert cluster.status.name == "closed"

    assert repr(remote.best_params_) == repr(local.best_params_)
    assert remote.best_score_ == local.best_score_
    for key in ["mean_test_score", "rank_test_score", "split0_test_score", "split2_test_score"]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    # Both families were searched, and the refitted pipelines agree.
    assert {type(p["ae"]).__name__ for p in local.cv_results_["params"]} == {"PCA", "Autoencoder"}
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
