// libFuzzer target for the multipart/form-data parser (uploads/multipart.cpp).
//
// Input: the first line is a Content-Type header value, the rest is the body. Checks that
// the parser never reads outside the body, never loops, and that what it returns keeps its
// promises (views inside the body, named parts, at most maxParts).
//
//   ./dev fuzz multipart 60        # build with clang + libFuzzer and run for 60 s
//
// The seeds in corpus/multipart also run on every `./dev test` (uploads_tests).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "uploads/multipart.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto eol = input.find('\n');
  const std::string_view contentType = input.substr(0, eol);
  const std::string_view body = eol == std::string_view::npos ? "" : input.substr(eol + 1);

  (void)atelier::uploads::isMultipartFormData(contentType);
  auto boundary = atelier::uploads::multipartBoundary(contentType);
  // Also try the body with a fixed boundary, so the body parser is reached without the fuzzer
  // having to discover a valid header first.
  const std::string parsed = boundary.ok() ? *boundary : std::string();
  for (const std::string_view b : {std::string_view(parsed), std::string_view("bnd")}) {
    if (b.empty()) continue;
    atelier::uploads::MultipartLimits limits;
    limits.maxParts = 8;
    auto parts = atelier::uploads::parseMultipart(body, b, limits);
    if (!parts.ok()) continue;
    if (parts->size() > limits.maxParts) std::abort();
    for (const auto& p : *parts) {
      if (p.name.empty()) std::abort();
      if (!p.body.empty() && (p.body.data() < body.data() ||
                              p.body.data() + p.body.size() > body.data() + body.size())) {
        std::abort();
      }
    }
  }
  return 0;
}
