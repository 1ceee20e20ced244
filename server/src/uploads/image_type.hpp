// The image types an upload may have, judged only by the first bytes (never by a file name
// or a declared Content-Type).
#pragma once

#include <optional>
#include <string_view>

namespace atelier::uploads {

struct ImageType {
  std::string_view mimeType;   // "image/png"
  std::string_view extension;  // "png"
};

// PNG, JPEG, WebP or GIF by signature; nullopt for anything else.
std::optional<ImageType> sniffImageType(std::string_view bytes) noexcept;

// The type whose mime type this is (for rows read back from the database).
std::optional<ImageType> imageTypeOf(std::string_view mimeType) noexcept;

}  // namespace atelier::uploads
