// Static encoder: text -> WordPiece ids -> mean of int8 token rows -> L2 normalisation.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "parallel.hpp"
#include "uniroute/text.hpp"

namespace uniroute::text {

StaticEncoder::StaticEncoder(const std::vector<std::string>& vocab, std::vector<std::int8_t> rows,
                             std::vector<float> scales, std::size_t dim, std::size_t max_tokens,
                             bool normalize, const std::string& unk_token,
                             const std::vector<std::string>& specials)
    : tok_(vocab, unk_token, 100, specials),
      rows_(std::move(rows)),
      scales_(std::move(scales)),
      dim_(dim),
      max_tokens_(max_tokens),
      normalize_(normalize) {
  if (dim_ == 0) throw std::invalid_argument("dim must be >= 1");
  if (max_tokens_ == 0) throw std::invalid_argument("max_tokens must be >= 1");
  if (scales_.size() != vocab.size() || rows_.size() != vocab.size() * dim_) {
    throw std::invalid_argument("rows must be (" + std::to_string(vocab.size()) + ", " +
                                std::to_string(dim_) + ") and scales (" +
                                std::to_string(vocab.size()) + ",)");
  }
  for (float s : scales_) {
    if (!std::isfinite(s)) throw std::invalid_argument("scales must be finite");
  }
}

void StaticEncoder::embed(std::string_view text, float* out, std::vector<std::int32_t>& ids) const {
  // As model2vec: the first max_tokens tokens, then [UNK] dropped from the mean.
  tok_.tokenize(text, ids, max_tokens_, /*drop_unk=*/false);
  for (std::size_t d = 0; d < dim_; ++d) out[d] = 0.0f;
  std::size_t n = 0;
  const std::int32_t unk = tok_.unk_id();
  for (std::int32_t id : ids) {
    if (id == unk) continue;
    const std::int8_t* row = rows_.data() + std::size_t(id) * dim_;
    const float s = scales_[std::size_t(id)];
    for (std::size_t d = 0; d < dim_; ++d) out[d] += s * float(row[d]);
    ++n;
  }
  if (n == 0) return;
  const float inv_n = 1.0f / float(n);
  double norm2 = 0.0;
  for (std::size_t d = 0; d < dim_; ++d) {
    out[d] *= inv_n;
    norm2 += double(out[d]) * double(out[d]);
  }
  if (normalize_ && norm2 > 0.0) {
    const float inv = float(1.0 / std::sqrt(norm2));
    for (std::size_t d = 0; d < dim_; ++d) out[d] *= inv;
  }
}

void StaticEncoder::embed_batch(const std::vector<std::string_view>& texts, float* out,
                                int threads) const {
  constexpr Index kBlock = 64;
  const Index n = Index(texts.size());
  const Index blocks = (n + kBlock - 1) / kBlock;
  const int workers = int(std::max<Index>(1, std::min<Index>(threads, blocks)));
  detail::parallel_for(blocks, workers, [&](Index b, int) {
    std::vector<std::int32_t> ids;
    const Index end = std::min(n, (b + 1) * kBlock);
    for (Index i = b * kBlock; i < end; ++i) {
      embed(texts[std::size_t(i)], out + std::size_t(i) * dim_, ids);
    }
  });
}

}  // namespace uniroute::text
