// The text path of the core: BERT-uncased WordPiece tokenisation and a static
// (bag-of-token-vectors) encoder. No Python, no global state: every object is immutable
// after construction, so one instance serves any number of threads.
//
// Tokenisation is HF tokenizers' BertNormalizer (clean text, CJK padding, NFD + strip
// non-spacing marks, lower-case) + BertPreTokenizer (split on whitespace, isolate
// punctuation) + WordPiece (greedy longest match, "##" continuations, the whole word is
// the unknown token when any part of it has no match or it has more than
// max_word_chars characters), with Unicode tables probed from tokenizers itself
// (cpp/src/unicode_tables.inc, tools/make_unicode_tables.py).
//
// Input is UTF-8 bytes. Invalid bytes (and encoded surrogates) decode to U+FFFD, one per
// maximal invalid subpart as Python's bytes.decode("utf-8", "replace") does; BERT's
// clean-text step then drops U+FFFD, so invalid bytes simply vanish.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uniroute::text {

// Decode UTF-8 into code points (invalid subparts -> U+FFFD). Exposed for tests.
void decode_utf8(std::string_view bytes, std::vector<char32_t>& out);

class WordPiece {
 public:
  // vocab[i] is the token of id i ("##" marks a continuation). Throws
  // std::invalid_argument on an empty vocabulary, a duplicate token or a missing
  // unknown token.
  // `specials` are added tokens (e.g. "[PAD]"): an exact occurrence in the raw text is
  // that token, before any normalisation (HF's added tokens with normalized = false).
  WordPiece(const std::vector<std::string>& vocab, const std::string& unk_token = "[UNK]",
            std::size_t max_word_chars = 100, const std::vector<std::string>& specials = {});

  // Token ids of `text`, appended to `ids` (cleared first). With drop_unk, unknown
  // words give no id. Stops once `max_tokens` ids are produced (the first max_tokens
  // ids of the whole text; later text is not read).
  void tokenize(std::string_view text, std::vector<std::int32_t>& ids,
                std::size_t max_tokens = SIZE_MAX, bool drop_unk = false) const;

  std::int32_t unk_id() const { return unk_id_; }
  std::size_t vocab_size() const { return n_tokens_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0, length = 0;
    std::int32_t id = -1;
  };
  struct Table {
    std::vector<Slot> slots;
    std::uint64_t mask = 0;
    std::size_t max_chars = 0;  // longest key, in code points
  };
  void insert(Table& t, std::string_view key, std::int32_t id);
  std::int32_t find(const Table& t, const char* key, std::size_t len) const;
  void word_ids(const std::vector<char32_t>& word, std::vector<std::int32_t>& ids,
                bool drop_unk) const;

  std::vector<std::pair<std::string, std::int32_t>> specials_;  // longest first
  bool special_first_[256] = {};
  std::string keys_;   // all keys, back to back
  Table words_, cont_;  // word-initial tokens; "##" continuations (keyed without "##")
  std::int32_t unk_id_ = -1;
  std::size_t n_tokens_ = 0, max_word_chars_ = 100;
};

// Static encoder: mean of the token rows (int8 row x its float scale), L2-normalised.
// As model2vec: the first max_tokens tokens are kept, then unknown tokens are dropped;
// a text with no known token embeds to zeros.
class StaticEncoder {
 public:
  StaticEncoder(const std::vector<std::string>& vocab, std::vector<std::int8_t> rows,
                std::vector<float> scales, std::size_t dim, std::size_t max_tokens,
                bool normalize, const std::string& unk_token = "[UNK]",
                const std::vector<std::string>& specials = {});

  std::size_t dim() const { return dim_; }
  std::size_t max_tokens() const { return max_tokens_; }
  const WordPiece& tokenizer() const { return tok_; }

  // Embedding of one text into out[0..dim). `ids` is scratch space.
  void embed(std::string_view text, float* out, std::vector<std::int32_t>& ids) const;
  // Embeddings of n texts into out (n x dim, row-major), on `threads` threads.
  void embed_batch(const std::vector<std::string_view>& texts, float* out, int threads) const;

 private:
  WordPiece tok_;
  std::vector<std::int8_t> rows_;
  std::vector<float> scales_;
  std::size_t dim_, max_tokens_;
  bool normalize_;
};

}  // namespace uniroute::text
