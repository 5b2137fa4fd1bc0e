# The C++ text path (issue 12): a bounded differential fuzz of the WordPiece tokenizer and
# the static encoder against HF tokenizers (installed by the test extra). ~40 s.
python fuzz/fuzz_text.py --seconds 30 --seed "${RANDOM}"
