#include "blob/local_blob_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/crypto.hpp"

namespace atelier::blob {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTempMarker = ".tmp-";
// Far above MAX_UPLOAD_BYTES: a guard against reading something that is not ours.
constexpr std::uint64_t kMaxReadBytes = std::uint64_t{1} << 30;

Error failed(std::string_view what, const fs::path& path, int err) {
  spdlog::error("file storage: {} {}: {}", what, path.string(),
                std::error_code(err, std::generic_category()).message());
  return storageUnavailable();
}

// Closes the descriptor on every path out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Makes a rename in `dir` durable.
void syncDirectory(const fs::path& dir) {
  const Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::open(const fs::path& root,
                                                             WorkerPool& files) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    spdlog::error("file storage: cannot create {}: {}", root.string(), ec.message());
    return Error::make(Errc::unavailable,
                       "STORAGE_URL: cannot create the directory " + root.string());
  }
  // Temporaries of puts that a crash interrupted.
  int removed = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) &&
        it->path().filename().string().find(kTempMarker) != std::string::npos) {
      if (fs::remove(it->path(), ec)) ++removed;
    }
  }
  if (removed > 0) spdlog::info("file storage: removed {} unfinished upload(s)", removed);
  return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(root, files));
}

std::string LocalBlobStore::urlOf(std::string_view key) const {
  return "file:///" + std::string(key);
}

Result<void> LocalBlobStore::putNow(const std::string& key, std::string_view bytes) const {
  if (!isValidKey(key)) return Error::make(Errc::internal, "invalid storage key");
  const fs::path target = pathOf(key);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return failed("cannot create", target.parent_path(), ec.value());
  const fs::path temp = target.string() + std::string(kTempMarker) + randomToken(6);
  {
    const Fd f(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (f.fd < 0) return failed("cannot create", temp, errno);
    if (!writeAll(f.fd, bytes) || ::fsync(f.fd) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return failed("cannot write", temp, err);
    }
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return failed("cannot rename into", target, err);
  }
  syncDirectory(target.parent_path());
  return {};
}

Result<std::optional<std::string>> LocalBlobStore::getNow(const std::string& key) const {
  if (!isValidKey(key)) return std::optional<std::string>();
  const fs::path path = pathOf(key);
  const Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (f.fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return failed("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return failed("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > kMaxReadBytes) {
    return failed("not a regular file of a sane size:", path, EINVAL);
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot read", path, errno);
    if (n == 0) break;  // shrank under us: return what is there
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return std::optional<std::string>(std::move(out));
}

Result<void> LocalBlobStore::removeNow(const std::string& key) const {
  if (!isValidKey(key)) return {};
  const fs::path path = pathOf(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return failed("cannot remove", path, errno);
  }
  return {};
}

boost::asio::awaitable<Result<void>> LocalBlobStore::put(const std::string& key,
                                                         std::string_view bytes,
                                                         const std::string& /*contentType*/) {
  co_return co_await files_.run([&] { return putNow(key, bytes); });
}

boost::asio::awaitable<Result<std::optional<std::string>>> LocalBlobStore::get(
    const std::string& key) {
  co_return co_await files_.run([&] { return getNow(key); });
}

boost::asio::awaitable<Result<void>> LocalBlobStore::remove(const std::string& key) {
  co_return co_await files_.run([&] { return removeNow(key); });
}

boost::asio::awaitable<Result<bool>> LocalBlobStore::exists(const std::string& key) {
  co_return co_await files_.run([&]() -> Result<bool> {
    if (!isValidKey(key)) return false;
    struct stat st {};
    if (::stat(pathOf(key).c_str(), &st) == 0) return S_ISREG(st.st_mode);
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return failed("cannot stat", pathOf(key), errno);
  });
}

boost::asio::awaitable<Result<void>> LocalBlobStore::check() {
  co_return co_await files_.run([&]() -> Result<void> {
    if (::access(root_.c_str(), W_OK | X_OK) != 0) return failed("cannot write to", root_, errno);
    return {};
  });
}

}  // namespace atelier::blob
