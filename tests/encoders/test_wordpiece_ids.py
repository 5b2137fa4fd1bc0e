"""The C++ WordPiece gives HF tokenizers' ids, id for id (the static encoder's vocabulary).

The reference is HF ``tokenizers`` (a test extra) built from the shipped vocabulary with
BERT-uncased settings -- the configuration the distillation recorded and checked. The
default run covers every prompt of both bundled data sets and a few thousand random
strings; ``UNIROUTE_TOKEN_FUZZ_EXAMPLES=100000`` runs the large fuzz (see docs/encoders.md).
"""
from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

tokenizers = pytest.importorskip("tokenizers")

from uniroute import datasets
from uniroute.static_encoder import load_model, shared

FUZZ = int(os.environ.get("UNIROUTE_TOKEN_FUZZ_EXAMPLES", "400"))


@pytest.fixture(scope="module")
def pair():
    vocab, _, _, meta = load_model()
    model = tokenizers.models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]",
                                        max_input_chars_per_word=100)
    hf = tokenizers.Tokenizer(model)
    hf.normalizer = tokenizers.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    hf.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    hf.add_special_tokens(meta["added_tokens"])  # [PAD], [UNK]: matched on the raw text
    assert meta["tokenizer"]["max_input_chars_per_word"] == 100
    assert meta["added_tokens"] == ["[PAD]", "[UNK]"]
    return hf, shared(), vocab


def hf_ids(hf, text: str) -> list[int]:
    return hf.encode(text, add_special_tokens=False).ids


def assert_same(pair, texts) -> None:
    hf, enc, _ = pair
    expected = [e.ids for e in hf.encode_batch(list(texts), add_special_tokens=False)]
    bad = [(t, e, enc.token_ids(t)) for t, e in zip(texts, expected) if enc.token_ids(t) != e]
    assert not bad, f"{len(bad)} of {len(texts)} differ, first: {bad[0]!r}"


@pytest.mark.parametrize("name", ["routerbench_partial", "zeroeval_math_code"])
def test_every_bundled_prompt(pair, name):
    prompts = datasets.load(name).prompts
    assert prompts and len(prompts) > 1000
    assert_same(pair, prompts)


def test_hand_worked_tokens(pair):
    _, enc, vocab = pair
    ids = {t: i for i, t in enumerate(vocab)}

    def tokens(text):
        return [vocab[i] for i in enc.token_ids(text)]

    # lower-casing, accent stripping (NFD, drop Mn), punctuation isolated, CJK split
    assert tokens("Héllo, WORLD!") == ["hello", ",", "world", "!"]
    assert tokens("中文") == ["中", "文"]
    assert tokens("naïve\tcafé\u00a0") == ["naive", "cafe"]
    # greedy longest match with ## continuations
    word = "unaffable"
    pieces = tokens(word)
    assert "".join(p.removeprefix("##") for p in pieces) == word and len(pieces) > 1
    assert all(p.startswith("##") for p in pieces[1:])
    # a word longer than 100 characters is one [UNK]; so is a word with an unknown char
    assert enc.token_ids("a" * 101) == [ids["[UNK]"]]
    assert len(enc.token_ids("a" * 100)) >= 1 and ids["[UNK]"] not in enc.token_ids("a" * 100)
    assert enc.token_ids("") == [] and enc.token_ids(" \t\n\x00\ufffd") == []
    # added tokens are matched on the raw text, before lower-casing
    assert tokens("x[PAD]y [UNK] [pad]") == ["x", "[PAD]", "y", "[UNK]", "[", "pad", "]"]


def test_invalid_text_is_dropped_as_documented(pair):
    hf, enc, _ = pair
    raw = b"caf\xc3\xa9 \xff\xfe na\xefve \xed\xa0\x80end \xf0\x9f\x98"
    assert enc.token_ids(raw) == hf_ids(hf, raw.decode("utf-8", "replace"))
    lone = "abc\ud800def \udcff"
    assert enc.token_ids(lone) == hf_ids(hf, "abcdef ")


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=60))
def test_random_unicode(pair, text):
    assert_same(pair, [text])


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=60))
def test_random_bytes(pair, raw):
    hf, enc, _ = pair
    assert enc.token_ids(raw) == hf_ids(hf, raw.decode("utf-8", "replace"))


def random_text(rng: random.Random) -> str:
    """Strings dense in what the tables decide: marks of every class, CJK, Hangul,
    emoji, whitespace, punctuation, case pairs and unassigned code points."""
    pools = [(0x20, 0x7E), (0x80, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x590, 0x6FF),
             (0x900, 0xDFF), (0x1100, 0x11FF), (0x1D00, 0x1FFF), (0x2000, 0x2BFF),
             (0x3000, 0x30FF), (0x4E00, 0x4E40), (0xAC00, 0xAC40), (0xF900, 0xFAFF),
             (0xFE00, 0xFFFF), (0x1D100, 0x1D1FF), (0x1F300, 0x1FAFF), (0xE0000, 0xE01EF),
             (0x20000, 0x20010), (0x0, 0x10FFFF)]
    out = []
    for _ in range(rng.randint(0, 50)):
        lo, hi = rng.choice(pools)
        cp = rng.randint(lo, hi)
        out.append(chr(cp if not 0xD800 <= cp <= 0xDFFF else 0x20))
    return "".join(out)


def test_random_mixed_scripts(pair):
    rng = random.Random(0)
    assert_same(pair, [random_text(rng) for _ in range(max(2000, FUZZ))])
