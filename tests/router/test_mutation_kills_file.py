"""Tests written for mutants of ``_router_file.py`` that the suite let survive
(docs/testing.md): the signatures of load/from_bytes, get_params with an encoder
object, the smallest valid router (K = 1, dim = 1), arrays of the wrong shape or dtype
in either direction, and which class old pickles resolve to."""
from __future__ import annotations

import numpy as np
import pytest

from uniroute import RouterFileError, UniRouter
from uniroute import _router_file
from uniroute.io import archive_bytes


class Enc:
    name = "enc-4"
    dim = 4


def small(rng, K=2, d=4, **kw):
    X = rng.standard_normal((60, d)).astype(np.float32)
    r = UniRouter(n_clusters=K, random_state=0, **kw).fit(X)
    r.add_model("a", 1.0, X[:30], (np.arange(30) % 2).astype(float))
    r.add_model("b", 2.0, X[:30], np.ones(30))
    return r, X


def test_load_and_from_bytes_take_the_source_by_keyword_and_max_bytes_only_so(rng, tmp_path):
    r, X = small(rng)
    r.save(tmp_path / "r.npz")
    for loaded in (UniRouter.load(path=tmp_path / "r.npz"),
                   UniRouter.from_bytes(data=r.to_bytes())):
        np.testing.assert_array_equal(loaded.route(X), r.route(X))
    with pytest.raises(TypeError):
        UniRouter.load(tmp_path / "r.npz", 2**20)
    with pytest.raises(TypeError):
        UniRouter.from_bytes(r.to_bytes(), 2**20)


def test_get_params_gives_an_encoder_object_by_its_name():
    enc = Enc()
    assert UniRouter(encoder=enc).get_params()["encoder"] == "enc-4"
    assert UniRouter(encoder="e").get_params()["encoder"] == "e"
    assert UniRouter().get_params()["encoder"] is None
    # parameters are returned as given and checked by fit (scikit-learn convention)
    assert UniRouter(encoder="").get_params()["encoder"] == ""


def test_one_cluster_and_one_dimension_round_trip(rng):
    X = rng.standard_normal((40, 1)).astype(np.float32)
    r = UniRouter(n_clusters=1, random_state=0).fit(X)
    r.add_model("a", 1.0, X, np.ones(40))
    r.add_model("b", 0.5, X, (np.arange(40) < 10).astype(float))
    loaded = UniRouter.from_bytes(r.to_bytes())
    assert loaded.n_clusters_ == 1 and loaded.embedding_dim == 1
    np.testing.assert_array_equal(loaded.cluster_error_, r.cluster_error_)
    # by hand: Psi = (errors + 1 * overall) / (40 + 1), overall = (errors + 0.5) / 41
    np.testing.assert_allclose(loaded.cluster_error_[:, 0],
                               [(0 + 0.5 / 41) / 41, (30 + 30.5 / 41) / 41], rtol=1e-12)


def forged(r, **arrays):
    a, fields = r._archive()
    a = dict(a)
    a.update(arrays)
    return archive_bytes("UniRouter", a, fields)


@pytest.mark.parametrize("key, bad", [
    ("cluster_error", lambda r: np.zeros((2, 3))), ("cluster_error", lambda r: np.zeros((2, 1))),
    ("centroids", lambda r: np.zeros((2, 5), np.float32)),
    ("centroids", lambda r: np.zeros((2, 3), np.float32)),
    ("cost", lambda r: np.zeros(3)), ("cost", lambda r: np.zeros(1))])
def test_an_array_of_a_larger_or_smaller_shape_is_refused(rng, key, bad):
    r, _ = small(rng)
    with pytest.raises(RouterFileError, match=f"array '{key}' must have shape"):
        UniRouter.from_bytes(forged(r, **{key: bad(r)}))


@pytest.mark.parametrize("key, dtype, want", [
    ("centroids", np.float64, "float32"), ("cost", np.float32, "float64"),
    ("cluster_error", np.float32, "float64"), ("probe_count", np.int64, "float64")])
def test_an_array_of_another_dtype_is_refused(rng, key, dtype, want):
    r, _ = small(rng)
    a, _ = r._archive()
    with pytest.raises(RouterFileError, match=f"array '{key}' must have dtype {want}"):
        UniRouter.from_bytes(forged(r, **{key: np.asarray(a[key]).astype(dtype)}))


def test_zero_clusters_are_refused(rng):
    r, _ = small(rng)
    a, fields = r._archive()
    a = dict(a, centroids=np.zeros((0, 4), np.float32),
             **{k: np.zeros((2, 0)) for k in ("cluster_error", "error_sum", "probe_count")})
    fields = dict(fields, n_clusters=0)
    with pytest.raises(RouterFileError, match="inconsistent router"):
        UniRouter.from_bytes(archive_bytes("UniRouter", a, fields))


def test_old_pickles_resolve_to_the_public_class_not_a_private_subclass(rng):
    r, X = small(rng)

    class _Private(UniRouter):  # a private subclass never becomes a file kind's class
        pass

    assert _router_file._KINDS["UniRouter"] is UniRouter
    loaded = _router_file._unpickle(r.to_bytes())
    assert type(loaded) is UniRouter
    np.testing.assert_array_equal(loaded.route(X), r.route(X))


def test_a_negative_price_in_a_file_is_refused(rng):
    r, _ = small(rng)
    with pytest.raises(RouterFileError, match="inconsistent router"):
        UniRouter.from_bytes(forged(r, cost=np.array([1.0, -0.5])))


def test_errors_name_the_file_or_the_bytes(rng, tmp_path):
    r, _ = small(rng)
    data = forged(r, cost=np.zeros(3))
    with pytest.raises(RouterFileError, match=r"^<router bytes>: array 'cost'"):
        UniRouter.from_bytes(data)
    path = tmp_path / "bad.npz"
    path.write_bytes(data)
    with pytest.raises(RouterFileError, match="^" + str(path).replace("\\", "\\\\") + ": array"):
        UniRouter.load(path)


@pytest.mark.parametrize("edit", [
    lambda f: f.pop("hyperparameters"),                        # KeyError
    lambda f: f.update(models="ab"),                           # TypeError
    lambda f: f.update(n_clusters="two")])                     # ValueError
def test_bad_metadata_is_a_router_file_error(rng, edit):
    r, _ = small(rng)
    arrays, fields = r._archive()
    fields = dict(fields)
    edit(fields)
    with pytest.raises(RouterFileError, match="bad metadata"):
        UniRouter.from_bytes(archive_bytes("UniRouter", arrays, fields))


def test_zero_dimensions_are_refused(rng):
    r, _ = small(rng)
    a, fields = r._archive()
    a = dict(a, centroids=np.zeros((2, 0), np.float32))
    with pytest.raises(RouterFileError, match="inconsistent router"):
        UniRouter.from_bytes(archive_bytes("UniRouter", a, dict(fields, embedding_dim=0)))


def test_a_pool_of_300_models_round_trips(rng):
    X = rng.standard_normal((40, 2)).astype(np.float32)
    r = UniRouter(n_clusters=2, random_state=0).fit(X)
    for m in range(300):
        r.add_model(f"m{m}", 1.0 + m, X, (np.arange(40) % (m % 7 + 1) == 0).astype(float))
    loaded = UniRouter.from_bytes(r.to_bytes())
    assert loaded.models == r.models and len(loaded.models) == 300
    np.testing.assert_array_equal(loaded.route(X), r.route(X))
