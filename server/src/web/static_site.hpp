// The web UI's built files (web/dist), read into memory once at start-up and served from
// there: no file system access while serving, and no path from a request ever reaches the
// file system.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/result.hpp"

namespace atelier::web {

struct StaticFile {
  std::string body;
  std::string gzip;  // the precompressed `<name>.gz` beside it, when the build wrote one
  std::string contentType;
  std::string etag;        // quoted, from the content's hash
  bool immutable = false;  // under assets/: the name carries a content hash
};

class StaticSite {
 public:
  // Refuses a site that is too large to hold in memory.
  static constexpr std::size_t kMaxFiles = 4096;
  static constexpr std::size_t kMaxBytes = std::size_t{128} << 20;

  StaticSite() = default;
  StaticSite(StaticSite&&) noexcept = default;  // index_ stays valid: map nodes do not move
  StaticSite& operator=(StaticSite&&) noexcept = default;
  StaticSite(const StaticSite&) = delete;
  StaticSite& operator=(const StaticSite&) = delete;

  // Reads every regular file under `root` (blocking; call before serving). Fails when `root`
  // holds no index.html or is over the limits above.
  static Result<StaticSite> load(const std::filesystem::path& root);

  // The file at a URL path ("/assets/app-1a2b.js"), or null. Only exact names match.
  const StaticFile* find(std::string_view urlPath) const;
  const StaticFile& index() const { return *index_; }
  std::size_t fileCount() const noexcept { return files_.size(); }
  std::size_t totalBytes() const noexcept { return bytes_; }

 private:
  std::unordered_map<std::string, StaticFile> files_;
  const StaticFile* index_ = nullptr;
  std::size_t bytes_ = 0;
};

// The media type for a file name, by its extension (application/octet-stream otherwise).
std::string_view contentTypeFor(std::string_view fileName);

// Where the UI's files are: WEB_DIR when set, else the first of ./web/dist and
// <directory of the executable>/../web/dist that holds an index.html; empty when none does.
std::filesystem::path findWebRoot(const std::string& configured);

}  // namespace atelier::web
