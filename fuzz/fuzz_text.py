"""Fuzzing of the C++ text path (UTF-8 decoding, normalisation, WordPiece, embedding).

Usage:
    python fuzz/fuzz_text.py [--seconds T] [--seed S]      # random bytes and strings
    python fuzz/fuzz_text.py --atheris -max_total_time=120  # coverage-guided (pip install atheris)

Each input is fed as raw bytes and as a str (valid text, and text with lone surrogates)
to ``token_ids`` and ``encode`` of the shipped static encoder. Checked: no crash, ids in
range, finite unit-or-zero embeddings, and -- when HF ``tokenizers`` is installed -- the
ids equal HF's on ``bytes.decode("utf-8", "replace")`` (differential fuzzing). Run it in
the sanitizer build (``tools/sanitize.sh`` builds one; see docs/encoders.md) to catch
memory errors. Exits 1 on the first finding, printing the input.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np
from uniroute.static_encoder import load_model, shared

ENC = shared()
VOCAB_SIZE = ENC._core.vocab_size


def reference():
    try:
        import tokenizers
    except ImportError:
        return None
    vocab, _, _, meta = load_model()
    hf = tokenizers.Tokenizer(tokenizers.models.WordPiece(
        {t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    hf.normalizer = tokenizers.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    hf.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    hf.add_special_tokens(meta["added_tokens"])
    return hf


HF = reference()


def check(raw: bytes) -> None:
    ids = ENC.token_ids(raw)
    assert all(0 <= i < VOCAB_SIZE for i in ids), ids
    text = raw.decode("utf-8", "replace")
    assert ENC.token_ids(text) == ids, "str and bytes disagree"
    if HF is not None:
        expected = HF.encode(text, add_special_tokens=False).ids
        assert ids == expected, (ids, expected)
    lone = raw.decode("utf-8", "surrogateescape")  # lone surrogates for invalid bytes
    assert ENC.token_ids(lone) == ENC.token_ids(lone.encode("utf-8", "surrogatepass")
                                                .decode("utf-8", "replace"))
    x = ENC.encode([text, lone])
    norms = np.linalg.norm(x, axis=1)
    assert np.isfinite(x).all() and all(abs(n - 1) < 1e-4 or n == 0 for n in norms), norms


def random_input(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.4:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    cps = []
    for _ in range(rng.randint(0, 48)):
        r = rng.random()
        if r < 0.3:
            cps.append(rng.randint(0x20, 0x7E))
        elif r < 0.5:
            cps.append(rng.choice([0x300, 0x301, 0x327, 0x345, 0x5B0, 0x1D165, 0x1D16D,
                                   0x0E48, 0x1DC0, 0x20DD, 0xFE0F, 0x200D]))
        else:
            cps.append(rng.randint(0, 0x10FFFF))
    text = "".join(chr(c) for c in cps)
    return text.encode("utf-8", "surrogatepass")


def run_random(seconds: float, seed: int) -> int:
    rng = random.Random(seed)
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        raw = random_input(rng)
        try:
            check(raw)
        except AssertionError as exc:
            print(f"FINDING after {n} inputs: {raw!r}: {exc}")
            return 1
        n += 1
    print(f"{n} inputs, no finding (reference: {'HF tokenizers' if HF else 'none'})")
    return 0


def main() -> int:
    if "--atheris" in sys.argv:
        import atheris

        sys.argv.remove("--atheris")
        atheris.Setup(sys.argv, lambda data: check(bytes(data)))
        atheris.Fuzz()
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    return run_random(args.seconds, args.seed)


if __name__ == "__main__":
    sys.exit(main())
