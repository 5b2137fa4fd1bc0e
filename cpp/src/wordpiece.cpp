// BERT-uncased WordPiece, token for token the same as HF tokenizers (see text.hpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "uniroute/text.hpp"

namespace uniroute::text {
namespace {

#include "unicode_tables.inc"

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kHangulBase = 0xAC00, kHangulCount = 11172;

inline std::uint16_t flags_of(char32_t cp) {
  if (cp >= 0x110000) return kFlagDROP;
  return kFlagBlocks[std::size_t(kFlagIndex[cp >> 8]) * 256 + (cp & 0xFF)];
}

// The mapping of `cp` in a sparse table (keys sorted), as [begin, end) into the pool.
inline bool sparse_lookup(const std::uint32_t* keys, std::size_t n, const std::uint32_t* offsets,
                          char32_t cp, std::uint32_t& begin, std::uint32_t& end) {
  const std::uint32_t* it = std::lower_bound(keys, keys + n, std::uint32_t(cp));
  if (it == keys + n || *it != cp) return false;
  const std::size_t i = std::size_t(it - keys);
  begin = offsets[i];
  end = offsets[i + 1];
  return true;
}

inline std::uint8_t ccc_of(char32_t cp, std::uint16_t f) {
  if (!(f & kFlagCCC)) return 0;
  constexpr std::size_t n = sizeof(kCccKeys) / sizeof(kCccKeys[0]);
  const std::uint32_t* it = std::lower_bound(kCccKeys, kCccKeys + n, std::uint32_t(cp));
  return (it != kCccKeys + n && *it == cp) ? kCccValues[it - kCccKeys] : 0;
}

inline void append_utf8(std::string& s, char32_t cp) {
  if (cp < 0x80) {
    s.push_back(char(cp));
  } else if (cp < 0x800) {
    s.push_back(char(0xC0 | (cp >> 6)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(char(0xE0 | (cp >> 12)));
    s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(char(0xF0 | (cp >> 18)));
    s.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  }
}

inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (std::size_t i = 0; i < n; ++i) {
    h ^= std::uint8_t(p[i]);
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Streams one text through normalisation and pre-tokenisation into words.
class Normalizer {
 public:
  explicit Normalizer(std::vector<char32_t>& word) : word_(word) {}

  // Feed one decoded code point; `on_word` is called for every finished word.
  template <class F>
  void feed(char32_t cp, F&& on_word) {
    if (cp < 0x80) {  // ASCII: no decomposition, no mark; the same steps, inlined
      const std::uint16_t f = kFlagBlocks[cp];  // page 0 is block 0
      if (f & kFlagDROP) return;
      flush_run(on_word);
      if (f & kFlagSPACE) return end_word(on_word);
      const char32_t c = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
      return pretokenize(c, kFlagBlocks[c], on_word);
    }
    const std::uint16_t f = flags_of(cp);
    if (f & kFlagDROP) return;  // clean_text: NUL, U+FFFD, control and other categories
    if (f & kFlagSPACE) {       // clean_text: whitespace -> ' '
      decompose(U' ', on_word);
    } else if (f & kFlagCJK) {  // handle_chinese_chars: " c "
      decompose(U' ', on_word);
      decompose(cp, on_word);
      decompose(U' ', on_word);
    } else {
      decompose(cp, on_word);
    }
  }

  template <class F>
  void finish(F&& on_word) {
    flush_run(on_word);
    end_word(on_word);
  }

 private:
  // NFD of one code point, then canonical reordering of runs of non-starters.
  template <class F>
  void decompose(char32_t cp, F&& on_word) {
    const std::uint16_t f = flags_of(cp);
    if (!(f & kFlagDECOMP)) return reorder(cp, f, on_word);
    if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
      const char32_t s = cp - kHangulBase;
      reorder(0x1100 + s / 588, flags_of(0x1100 + s / 588), on_word);
      reorder(0x1161 + (s % 588) / 28, flags_of(0x1161 + (s % 588) / 28), on_word);
      if (s % 28) reorder(0x11A7 + s % 28, flags_of(0x11A7 + s % 28), on_word);
      return;
    }
    std::uint32_t b = 0, e = 0;
    if (!sparse_lookup(kDecompKeys, sizeof(kDecompKeys) / sizeof(kDecompKeys[0]),
                       kDecompOffsets, cp, b, e)) {
      return reorder(cp, f, on_word);  // unreachable with consistent tables
    }
    for (std::uint32_t i = b; i < e; ++i) reorder(kDecompPool[i], flags_of(kDecompPool[i]), on_word);
  }

  template <class F>
  void reorder(char32_t cp, std::uint16_t f, F&& on_word) {
    const std::uint8_t ccc = ccc_of(cp, f);
    if (ccc == 0) {
      flush_run(on_word);
      return strip_lower(cp, f, on_word);
    }
    run_.push_back({ccc, cp});
  }

  template <class F>
  void flush_run(F&& on_word) {
    if (run_.empty()) return;
    std::stable_sort(run_.begin(), run_.end(),
                     [](const Mark& a, const Mark& b) { return a.ccc < b.ccc; });
    for (const Mark& m : run_) strip_lower(m.cp, flags_of(m.cp), on_word);
    run_.clear();
  }

  // Strip non-spacing marks, lower-case, then pre-tokenise.
  template <class F>
  void strip_lower(char32_t cp, std::uint16_t f, F&& on_word) {
    if (f & kFlagMN) return;
    if (!(f & kFlagLOWER)) return pretokenize(cp, f, on_word);
    std::uint32_t b = 0, e = 0;
    if (!sparse_lookup(kLowerKeys, sizeof(kLowerKeys) / sizeof(kLowerKeys[0]), kLowerOffsets,
                       cp, b, e)) {
      return pretokenize(cp, f, on_word);
    }
    for (std::uint32_t i = b; i < e; ++i) pretokenize(kLowerPool[i], flags_of(kLowerPool[i]), on_word);
  }

  template <class F>
  void pretokenize(char32_t cp, std::uint16_t f, F&& on_word) {
    if (f & kFlagWS) return end_word(on_word);
    if (f & kFlagPUNCT) {
      end_word(on_word);
      word_.push_back(cp);
      return end_word(on_word);
    }
    word_.push_back(cp);
  }

  template <class F>
  void end_word(F&& on_word) {
    if (word_.empty()) return;
    on_word();
    word_.clear();
  }

  struct Mark {
    std::uint8_t ccc;
    char32_t cp;
  };
  std::vector<char32_t>& word_;
  std::vector<Mark> run_;
};

// Length of the well-formed UTF-8 sequence at p[0..n) (Unicode table 3-7), or the
// length of its maximal invalid subpart (>= 1) with ok = false.
inline std::size_t utf8_sequence(const unsigned char* p, std::size_t n, char32_t& cp, bool& ok) {
  const unsigned char c = p[0];
  ok = false;
  if (c < 0x80) {
    cp = c;
    ok = true;
    return 1;
  }
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  std::size_t i = 1;
  for (; i <= need; ++i) {
    if (i >= n) return i;
    const unsigned char b = p[i];
    if (b < lo || b > hi) return i;
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
  }
  ok = true;
  return i;
}

}  // namespace

void decode_utf8(std::string_view bytes, std::vector<char32_t>& out) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp = 0;
    bool ok = false;
    i += utf8_sequence(p + i, bytes.size() - i, cp, ok);
    out.push_back(ok ? cp : kReplacement);
  }
}

WordPiece::WordPiece(const std::vector<std::string>& vocab, const std::string& unk_token,
                     std::size_t max_word_chars, const std::vector<std::string>& specials)
    : n_tokens_(vocab.size()), max_word_chars_(max_word_chars) {
  if (vocab.empty()) throw std::invalid_argument("the vocabulary is empty");
  if (vocab.size() > std::size_t(INT32_MAX)) throw std::invalid_argument("vocabulary too large");
  std::size_t n_cont = 0, bytes = 0;
  for (const auto& t : vocab) {
    n_cont += t.size() > 2 && t.compare(0, 2, "##") == 0;
    bytes += t.size();
  }
  if (bytes > UINT32_MAX) throw std::invalid_argument("vocabulary too large");
  auto size_table = [](Table& t, std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    t.slots.assign(cap, Slot{});
    t.mask = cap - 1;
  };
  size_table(words_, vocab.size() - n_cont);
  size_table(cont_, n_cont);
  keys_.reserve(bytes);
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const std::string& t = vocab[i];
    if (t.empty()) throw std::invalid_argument("vocabulary token " + std::to_string(i) + " is empty");
    if (t.size() > 2 && t.compare(0, 2, "##") == 0) {
      insert(cont_, std::string_view(t).substr(2), std::int32_t(i));
    } else {
      insert(words_, t, std::int32_t(i));
    }
    if (t == unk_token) unk_id_ = std::int32_t(i);
  }
  if (unk_id_ < 0) throw std::invalid_argument("the vocabulary has no unknown token " + unk_token);
  for (const std::string& sp : specials) {
    const auto it = std::find(vocab.begin(), vocab.end(), sp);
    if (sp.empty() || it == vocab.end()) {
      throw std::invalid_argument("added token " + sp + " is not in the vocabulary");
    }
    specials_.emplace_back(sp, std::int32_t(it - vocab.begin()));
    special_first_[std::uint8_t(sp[0])] = true;
  }
  std::stable_sort(specials_.begin(), specials_.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
}

void WordPiece::insert(Table& t, std::string_view key, std::int32_t id) {
  const std::uint64_t h = hash_bytes(key.data(), key.size());
  for (std::uint64_t i = h & t.mask;; i = (i + 1) & t.mask) {
    Slot& s = t.slots[i];
    if (s.id < 0) {
      s = Slot{h, std::uint32_t(keys_.size()), std::uint32_t(key.size()), id};
      keys_.append(key.data(), key.size());
      t.max_chars = std::max(t.max_chars, utf8_chars(key));
      return;
    }
    if (s.hash == h && s.length == key.size() &&
        std::memcmp(keys_.data() + s.offset, key.data(), key.size()) == 0) {
      throw std::invalid_argument("duplicate vocabulary token " + std::string(key));
    }
  }
}

std::int32_t WordPiece::find(const Table& t, const char* key, std::size_t len) const {
  const std::uint64_t h = hash_bytes(key, len);
  for (std::uint64_t i = h & t.mask;; i = (i + 1) & t.mask) {
    const Slot& s = t.slots[i];
    if (s.id < 0) return -1;
    if (s.hash == h && s.length == len && std::memcmp(keys_.data() + s.offset, key, len) == 0) {
      return s.id;
    }
  }
}

void WordPiece::word_ids(const std::vector<char32_t>& word, std::vector<std::int32_t>& ids,
                         bool drop_unk) const {
  const std::size_t n = word.size();
  if (n > max_word_chars_) {
    if (!drop_unk) ids.push_back(unk_id_);
    return;
  }
  thread_local std::string utf8;
  thread_local std::vector<std::size_t> at;  // byte offset of each character
  utf8.clear();
  at.clear();
  for (char32_t cp : word) {
    at.push_back(utf8.size());
    append_utf8(utf8, cp);
  }
  at.push_back(utf8.size());
  const std::size_t mark = ids.size();
  std::size_t start = 0;
  while (start < n) {
    const Table& t = start == 0 ? words_ : cont_;
    std::size_t end = std::min(n, start + t.max_chars);
    std::int32_t id = -1;
    for (; end > start; --end) {
      id = find(t, utf8.data() + at[start], at[end] - at[start]);
      if (id >= 0) break;
    }
    if (id < 0) {  // no match: the whole word is unknown
      ids.resize(mark);
      if (!drop_unk) ids.push_back(unk_id_);
      return;
    }
    ids.push_back(id);
    start = end;
  }
}

void WordPiece::tokenize(std::string_view text, std::vector<std::int32_t>& ids,
                         std::size_t max_tokens, bool drop_unk) const {
  ids.clear();
  if (max_tokens == 0) return;
  thread_local std::vector<char32_t> word;
  word.clear();
  Normalizer norm(word);
  auto on_word = [&] { word_ids(word, ids, drop_unk); };
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size() && ids.size() < max_tokens) {
    if (special_first_[p[i]]) {  // an added token, matched on the raw text
      bool matched = false;
      for (const auto& [sp, id] : specials_) {
        if (text.compare(i, sp.size(), sp) == 0) {
          norm.finish(on_word);
          if (!(drop_unk && id == unk_id_)) ids.push_back(id);
          i += sp.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    char32_t cp = 0;
    bool ok = false;
    i += utf8_sequence(p + i, text.size() - i, cp, ok);
    norm.feed(ok ? cp : kReplacement, on_word);
  }
  if (ids.size() < max_tokens) norm.finish(on_word);
  if (ids.size() > max_tokens) ids.resize(max_tokens);
}

}  // namespace uniroute::text
