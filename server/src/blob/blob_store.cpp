#include "blob/blob_store.hpp"

#include "util/text.hpp"

namespace atelier::blob {

std::optional<std::string> BlobStore::keyOf(std::string_view url) const {
  const std::string prefix = urlOf("");
  if (url.size() <= prefix.size() || url.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string key(url.substr(prefix.size()));
  if (!isValidKey(key)) return std::nullopt;
  return key;
}

bool isValidKey(std::string_view key) noexcept {
  if (key.empty() || key.size() > 512) return false;
  std::size_t segmentStart = 0;
  for (std::size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      const auto segment = key.substr(segmentStart, i - segmentStart);
      if (segment.empty() || segment == "." || segment == "..") return false;
      segmentStart = i + 1;
      continue;
    }
    const char c = key[i];
    if (!isAsciiAlnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

Error storageUnavailable() {
  return Error::make(Errc::unavailable, "file storage is unavailable; try again later");
}

}  // namespace atelier::blob
