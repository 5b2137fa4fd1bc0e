// uniroute._core text path: StaticEncoder (WordPiece + static token rows) for Python.
// Texts are read as UTF-8 without copying; a str holding lone surrogates is encoded
// with "surrogatepass", whose bytes are invalid UTF-8 and so decode to U+FFFD (dropped).
// The GIL is released while a batch is tokenised and embedded.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "uniroute/simd.hpp"
#include "uniroute/text.hpp"

namespace py = pybind11;
using uniroute::text::StaticEncoder;

namespace {

// UTF-8 bytes of a str or bytes object; `keep` holds whatever owns them.
std::string_view utf8_of(const py::handle& obj, const std::string& name, py::object& keep) {
  if (PyUnicode_Check(obj.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
    if (data != nullptr) {
      keep = py::reinterpret_borrow<py::object>(obj);
      return {data, std::size_t(size)};
    }
    PyErr_Clear();  // lone surrogates: keep their (invalid) bytes, they decode to U+FFFD
    PyObject* raw = PyUnicode_AsEncodedString(obj.ptr(), "utf-8", "surrogatepass");
    if (raw == nullptr) throw py::error_already_set();
    keep = py::reinterpret_steal<py::object>(raw);
  } else if (PyBytes_Check(obj.ptr())) {
    keep = py::reinterpret_borrow<py::object>(obj);
  } else {
    throw py::type_error(name + " is a " + std::string(Py_TYPE(obj.ptr())->tp_name) +
                         ", expected str");
  }
  return {PyBytes_AS_STRING(keep.ptr()), std::size_t(PyBytes_GET_SIZE(keep.ptr()))};
}

std::unique_ptr<StaticEncoder> make_encoder(const std::vector<std::string>& vocab,
                                            const py::array& rows, const py::array& scales,
                                            std::size_t max_tokens, bool normalize,
                                            const std::string& unk_token,
                                            const std::vector<std::string>& specials) {
  auto r = py::array_t<std::int8_t, py::array::c_style>::ensure(rows);
  auto s = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(scales);
  if (!r || r.ndim() != 2 || r.dtype().kind() != 'i' || r.itemsize() != 1) {
    throw py::type_error("rows must be an int8 array (vocab_size, dim)");
  }
  if (!s || s.ndim() != 1) throw py::type_error("scales must be a float array (vocab_size,)");
  if (std::size_t(r.shape(0)) != vocab.size() || std::size_t(s.shape(0)) != vocab.size()) {
    throw py::value_error("rows and scales must have one row per vocabulary token (" +
                          std::to_string(vocab.size()) + ")");
  }
  std::vector<std::int8_t> rv(r.data(), r.data() + r.size());
  std::vector<float> sv(s.data(), s.data() + s.size());
  try {
    return std::make_unique<StaticEncoder>(vocab, std::move(rv), std::move(sv),
                                           std::size_t(r.shape(1)), max_tokens, normalize,
                                           unk_token, specials);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

py::array_t<float> encode(const StaticEncoder& enc, const py::iterable& texts) {
  std::vector<py::object> keep;
  std::vector<std::string_view> views;
  std::size_t i = 0;
  for (const py::handle& t : texts) {
    if (!PyUnicode_Check(t.ptr())) {
      throw py::type_error("texts[" + std::to_string(i) + "] is a " +
                           std::string(Py_TYPE(t.ptr())->tp_name) + ", expected str");
    }
    keep.emplace_back();
    views.push_back(utf8_of(t, "texts[" + std::to_string(i) + "]", keep.back()));
    ++i;
  }
  py::array_t<float> out({py::ssize_t(views.size()), py::ssize_t(enc.dim())});
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    enc.embed_batch(views, dst, uniroute::num_threads());
  }
  return out;
}

}  // namespace

void register_text(py::module_& m) {
  py::class_<StaticEncoder>(m, "StaticEncoder",
                            "Static text encoder: BERT-uncased WordPiece + int8 token rows.")
      .def(py::init(&make_encoder), py::arg("vocab"), py::arg("rows"), py::arg("scales"),
           py::arg("max_tokens"), py::arg("normalize") = true, py::arg("unk_token") = "[UNK]",
           py::arg("added_tokens") = std::vector<std::string>{})
      .def_property_readonly("dim", &StaticEncoder::dim)
      .def_property_readonly("max_tokens", &StaticEncoder::max_tokens)
      .def_property_readonly("vocab_size",
                             [](const StaticEncoder& e) { return e.tokenizer().vocab_size(); })
      .def_property_readonly("unk_id", [](const StaticEncoder& e) { return e.tokenizer().unk_id(); })
      .def("encode", &encode, py::arg("texts"),
           "Embeddings (N, dim) float32 of a sequence of str; releases the GIL.")
      .def("embed_one",
           [](const StaticEncoder& enc, const py::handle& text) {
             py::object keep;
             std::string_view v = utf8_of(text, "text", keep);
             py::array_t<float> out(py::ssize_t(enc.dim()));
             thread_local std::vector<std::int32_t> ids;
             enc.embed(v, out.mutable_data(), ids);
             return out;
           },
           py::arg("text"), "Embedding (dim,) float32 of one str (or UTF-8 bytes).")
      .def("token_ids",
           [](const StaticEncoder& enc, const py::handle& text, py::object max_tokens,
              bool drop_unk) {
             py::object keep;
             std::string_view v = utf8_of(text, "text", keep);
             std::size_t cap = SIZE_MAX;
             if (!max_tokens.is_none()) {
               const long long c = max_tokens.cast<long long>();
               if (c < 0) throw py::value_error("max_tokens must be >= 0");
               cap = std::size_t(c);
             }
             std::vector<std::int32_t> ids;
             enc.tokenizer().tokenize(v, ids, cap, drop_unk);
             return ids;
           },
           py::arg("text"), py::arg("max_tokens") = py::none(), py::arg("drop_unk") = false,
           "WordPiece ids of one str (or UTF-8 bytes; invalid bytes decode to U+FFFD).");
}
