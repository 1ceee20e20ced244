#include "web/static_site.hpp"

#include <array>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include "util/crypto.hpp"
#include "util/text.hpp"

namespace atelier::web {

namespace fs = std::filesystem;

namespace {

Result<std::string> readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Error::make(Errc::internal, "cannot read " + p.string());
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return Error::make(Errc::internal, "cannot read " + p.string());
  return data;
}

// A strong entity tag from the content (built by appends: g++ 12 warns falsely on
// `"literal" + std::string&&`).
std::string etagOf(std::string_view data) {
  std::string tag(1, '"');
  tag += sha256Hex(data).substr(0, 32);
  tag += '"';
  return tag;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string_view contentTypeFor(std::string_view fileName) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  const auto dot = fileName.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext(fileName.substr(dot));
    for (char& c : ext)
      c = asciiLower(c);
    for (const auto& [e, type] : kTypes) {
      if (e == ext) return type;
    }
  }
  return "application/octet-stream";
}

Result<StaticSite> StaticSite::load(const fs::path& root) {
  StaticSite site;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return Error::make(Errc::internal, "cannot read " + root.string() + ": " + ec.message());
  std::unordered_map<std::string, std::string> compressed;  // url path of the original -> gzip
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      return Error::make(Errc::internal, "cannot read " + root.string() + ": " + ec.message());
    }
    if (!it->is_regular_file(ec)) continue;  // directories; symlinks to files count as files
    if (site.files_.size() + compressed.size() >= kMaxFiles) {
      return Error::make(Errc::internal, root.string() + " holds more than " +
                                             std::to_string(kMaxFiles) + " files");
    }
    // Checked before reading: a stray huge file is refused, not loaded.
    const auto size = it->file_size(ec);
    if (ec || site.bytes_ + size > kMaxBytes) {
      return Error::make(Errc::internal, root.string() + " holds more than " +
                                             std::to_string(kMaxBytes >> 20) + " MiB");
    }
    const fs::path rel = it->path().lexically_relative(root);
    std::string url(1, '/');
    url += rel.generic_string();
    auto data = readFile(it->path());
    if (!data) return std::move(data).error();
    site.bytes_ += data->size();
    if (endsWith(url, ".gz")) {
      compressed.emplace(url.substr(0, url.size() - 3), std::move(data).value());
      continue;
    }
    StaticFile f;
    f.contentType = std::string(contentTypeFor(url));
    f.etag = etagOf(*data);
    f.immutable = url.starts_with("/assets/");
    f.body = std::move(data).value();
    site.files_.emplace(url, std::move(f));
  }
  for (auto& [url, gz] : compressed) {
    auto f = site.files_.find(url);
    if (f == site.files_.end()) {
      // A plain .gz file of its own (no original beside it): serve it as it is.
      StaticFile plain;
      plain.contentType = std::string(contentTypeFor(url + ".gz"));
      plain.etag = etagOf(gz);
      plain.body = std::move(gz);
      site.files_.emplace(url + ".gz", std::move(plain));
    } else if (gz.size() < f->second.body.size()) {
      f->second.gzip = std::move(gz);
    }
  }
  auto index = site.files_.find("/index.html");
  if (index == site.files_.end())
    return Error::make(Errc::not_found, root.string() + " holds no index.html");
  site.index_ = &index->second;
  return site;
}

const StaticFile* StaticSite::find(std::string_view urlPath) const {
  auto it = files_.find(std::string(urlPath));
  return it == files_.end() ? nullptr : &it->second;
}

fs::path findWebRoot(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::vector<fs::path> candidates{fs::path("web") / "dist"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / ".." / "web" / "dist");
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "index.html", ec)) return fs::weakly_canonical(c, ec);
  }
  return {};
}

}  // namespace atelier::web
