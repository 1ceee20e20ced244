// Blobs as files under one directory (STORAGE_URL=file://<dir>). File I/O is blocking, so
// every operation runs on a worker pool, never on an I/O thread.
//
// A put writes a temporary file next to the target, flushes it to disk and renames it over
// the target, so a crash never leaves half an object under its real name; temporaries left
// by a crash are named "<key>.tmp-<random>" and removed by the next start.
#pragma once

#include <filesystem>
#include <memory>

#include "blob/blob_store.hpp"
#include "util/worker_pool.hpp"

namespace atelier::blob {

class LocalBlobStore final : public BlobStore {
 public:
  // Creates `root` if needed and removes temporaries a crash left behind (blocking: call at
  // start-up). Errc::unavailable when the directory cannot be created.
  static Result<std::unique_ptr<LocalBlobStore>> open(const std::filesystem::path& root,
                                                      WorkerPool& files);

  std::string_view kind() const noexcept override { return "file"; }
  std::string urlOf(std::string_view key) const override;
  boost::asio::awaitable<Result<void>> put(const std::string& key, std::string_view bytes,
                                           const std::string& contentType) override;
  boost::asio::awaitable<Result<std::optional<std::string>>> get(const std::string& key) override;
  boost::asio::awaitable<Result<void>> remove(const std::string& key) override;
  boost::asio::awaitable<Result<bool>> exists(const std::string& key) override;
  boost::asio::awaitable<Result<void>> check() override;

  // The file that holds `key`.
  std::filesystem::path pathOf(std::string_view key) const { return root_ / key; }

 private:
  LocalBlobStore(std::filesystem::path root, WorkerPool& files)
      : root_(std::move(root)), files_(files) {}
  // The blocking operations themselves (run on the pool by the methods above).
  Result<void> putNow(const std::string& key, std::string_view bytes) const;
  Result<std::optional<std::string>> getNow(const std::string& key) const;
  Result<void> removeNow(const std::string& key) const;
  std::filesystem::path root_;
  WorkerPool& files_;
};

}  // namespace atelier::blob
