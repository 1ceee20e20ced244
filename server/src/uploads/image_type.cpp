#include "uploads/image_type.hpp"

#include <array>

namespace atelier::uploads {

namespace {

constexpr ImageType kPng{"image/png", "png"};
constexpr ImageType kJpeg{"image/jpeg", "jpg"};
constexpr ImageType kWebp{"image/webp", "webp"};
constexpr ImageType kGif{"image/gif", "gif"};

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<ImageType> sniffImageType(std::string_view b) noexcept {
  using namespace std::string_view_literals;
  if (startsWith(b, "\x89PNG\r\n\x1a\n"sv)) return kPng;
  if (startsWith(b, "\xff\xd8\xff"sv)) return kJpeg;
  if (startsWith(b, "GIF87a"sv) || startsWith(b, "GIF89a"sv)) return kGif;
  if (b.size() >= 12 && startsWith(b, "RIFF"sv) && b.substr(8, 4) == "WEBP"sv) return kWebp;
  return std::nullopt;
}

std::optional<ImageType> imageTypeOf(std::string_view mimeType) noexcept {
  for (const auto& t : std::array{kPng, kJpeg, kWebp, kGif}) {
    if (t.mimeType == mimeType) return t;
  }
  return std::nullopt;
}

}  // namespace atelier::uploads
