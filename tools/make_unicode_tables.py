"""Generate cpp/src/unicode_tables.inc: the Unicode tables of the BERT-uncased text path.

Usage: python tools/make_unicode_tables.py  (needs ``tokenizers==0.22.2``; test extra)

The tables are *probed* from HF ``tokenizers``' own normalizer and pre-tokenizer, one
code point at a time, so the C++ tokenizer sees exactly the Unicode version and the
character classes that ``tokenizers`` uses (Rust's std and the crates it pins), not
those of this Python. For every code point (surrogates excluded):

- ``DROP``   -- ``BertNormalizer(clean_text)`` removes it (NUL, U+FFFD, "other" categories);
- ``SPACE``  -- ``clean_text`` maps it to ' ' (whitespace);
- ``CJK``    -- ``handle_chinese_chars`` pads it with spaces;
- ``MN``     -- the accent stripping removes it after NFD (non-spacing mark);
- ``PUNCT``  -- ``BertPreTokenizer`` isolates it; ``WS`` -- ``BertPreTokenizer`` splits on it;
- ``DECOMP`` / ``LOWER`` -- its NFD / its lower-case mapping differs from itself (sparse
  maps below); ``CCC`` -- a non-zero canonical combining class (used by NFD's canonical
  reordering; the class comes from this Python's ``unicodedata``, see the header).

Hangul syllables are decomposed algorithmically in C++ (checked here against the probe).
"""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

from tokenizers import __version__ as tk_version
from tokenizers import normalizers, pre_tokenizers

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "cpp" / "src" / "unicode_tables.inc"
FLAGS = {"DROP": 1, "SPACE": 2, "CJK": 4, "MN": 8, "PUNCT": 16, "WS": 32, "DECOMP": 64,
         "LOWER": 128, "CCC": 256}
S_BASE, S_COUNT = 0xAC00, 11172


def hangul(cp: int) -> str:
    s = cp - S_BASE
    lead, vowel, trail = 0x1100 + s // 588, 0x1161 + (s % 588) // 28, 0x11A7 + s % 28
    return chr(lead) + chr(vowel) + (chr(trail) if trail != 0x11A7 else "")


def probe() -> tuple[list[int], dict[int, str], dict[int, str], dict[int, int]]:
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True,
                                     strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    nfd, lower = normalizers.NFD(), normalizers.Lowercase()
    pre = pre_tokenizers.BertPreTokenizer()
    flags = [0] * 0x110000
    decomp: dict[int, str] = {}
    lowers: dict[int, str] = {}
    ccc: dict[int, int] = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            flags[cp] = FLAGS["DROP"]  # never reaches the tables: decoded as U+FFFD
            continue
        c = chr(cp)
        f = 0
        out = clean.normalize_str(c)
        if out == "":
            f |= FLAGS["DROP"]
        elif out == " ":
            f |= FLAGS["SPACE"]
        elif out != c:
            raise AssertionError(f"clean_text maps U+{cp:04X} to {out!r}")
        if cjk.normalize_str(c) == f" {c} ":
            f |= FLAGS["CJK"]
        d = nfd.normalize_str(c)
        if d != c:
            f |= FLAGS["DECOMP"]
            if S_BASE <= cp < S_BASE + S_COUNT:
                assert d == hangul(cp), f"Hangul U+{cp:04X}"
            else:
                decomp[cp] = d
        elif strip.normalize_str(c) == "":
            f |= FLAGS["MN"]
        low = lower.normalize_str(c)
        if low != c:
            f |= FLAGS["LOWER"]
            lowers[cp] = low
        pieces = [p for p, _ in pre.pre_tokenize_str(f"a{c}a")]
        if pieces == ["a", c, "a"]:
            f |= FLAGS["PUNCT"]
        elif pieces == ["a", "a"]:
            f |= FLAGS["WS"]
        elif pieces != [f"a{c}a"]:
            raise AssertionError(f"pre-tokenizer splits U+{cp:04X} as {pieces!r}")
        if d == c and unicodedata.combining(c):
            f |= FLAGS["CCC"]
            ccc[cp] = unicodedata.combining(c)
        flags[cp] = f
    return flags, decomp, lowers, ccc


def c_array(ctype: str, name: str, values: list[int], per_line: int = 16) -> str:
    rows = [", ".join(str(v) for v in values[i:i + per_line])
            for i in range(0, len(values), per_line)]
    return f"static const {ctype} {name}[{len(values)}] = {{\n  " + ",\n  ".join(rows) + "\n};\n"


def sparse(name: str, table: dict[int, str]) -> str:
    keys = sorted(table)
    offsets, pool = [0], []
    for k in keys:
        pool.extend(ord(ch) for ch in table[k])
        offsets.append(len(pool))
    return (c_array("std::uint32_t", f"k{name}Keys", keys, 8)
            + c_array("std::uint32_t", f"k{name}Offsets", offsets, 12)
            + c_array("std::uint32_t", f"k{name}Pool", pool, 8))


def main() -> int:
    flags, decomp, lowers, ccc = probe()
    blocks: dict[tuple[int, ...], int] = {}
    index = []  # page 0 gets block 0 (the C++ ASCII fast path relies on it)
    for page in range(0x1100):
        block = tuple(flags[page * 256:(page + 1) * 256])
        index.append(blocks.setdefault(block, len(blocks)))
    flat = [v for block in blocks for v in block]
    ccc_keys = sorted(ccc)
    text = (
        "// GENERATED by tools/make_unicode_tables.py -- do not edit.\n"
        f"// Probed from HF tokenizers {tk_version} (BertNormalizer, NFD, Lowercase,\n"
        f"// BertPreTokenizer), one code point at a time; canonical combining classes from\n"
        f"// Python {sys.version.split()[0]} unicodedata {unicodedata.unidata_version}.\n"
        "// Included once, by cpp/src/wordpiece.cpp.\n"
        + "".join(f"constexpr std::uint16_t kFlag{k} = {v};\n" for k, v in FLAGS.items())
        + c_array("std::uint16_t", "kFlagIndex", index)
        + c_array("std::uint16_t", "kFlagBlocks", flat, 32)
        + sparse("Decomp", decomp) + sparse("Lower", lowers)
        + c_array("std::uint32_t", "kCccKeys", ccc_keys, 8)
        + c_array("std::uint8_t", "kCccValues", [ccc[k] for k in ccc_keys], 16)
    )
    OUT.write_text(text)
    print(f"{OUT}: {len(blocks)} distinct flag pages, {len(decomp)} decompositions, "
          f"{len(lowers)} lower-case maps, {len(ccc)} combining classes, {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
