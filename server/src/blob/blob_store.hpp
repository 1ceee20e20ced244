// Where uploaded bytes live: a directory on this machine (file://) or an S3 bucket (s3://).
//
// Keys are relative paths the server chooses ("users/<user_id>/uploads/<upload_id>.png");
// no key ever comes from a client, and isValidKey() refuses anything else. Failures are
// values: Errc::unavailable with a short message for the client ("file storage is
// unavailable"); the detail (errno text, S3 status and error code) goes to the log.
//
// Thread-safety: every method may be called from coroutines on any I/O thread at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace atelier::blob {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // "file" or "s3" (for logs).
  virtual std::string_view kind() const noexcept = 0;
  // The public name of the object at `key`: "file:///<key>" or "s3://<bucket>/<key>".
  virtual std::string urlOf(std::string_view key) const = 0;
  // The key that `url` names in this store; nullopt when it is not one of this store's urls.
  std::optional<std::string> keyOf(std::string_view url) const;

  // Stores `bytes` under `key`, replacing any object there. `key` and `bytes` must outlive
  // the await (pass named objects).
  virtual boost::asio::awaitable<Result<void>> put(const std::string& key, std::string_view bytes,
                                                   const std::string& contentType) = 0;
  // The object's bytes; nullopt when there is none.
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> get(
      const std::string& key) = 0;
  // Removes the object; removing a missing object succeeds.
  virtual boost::asio::awaitable<Result<void>> remove(const std::string& key) = 0;
  // Whether an object exists under `key`.
  virtual boost::asio::awaitable<Result<bool>> exists(const std::string& key) = 0;
  // A cheap check that the storage answers (the directory is writable, the bucket exists and
  // our credentials work), for the start-up log.
  virtual boost::asio::awaitable<Result<void>> check() = 0;
};

// A relative path of non-empty segments of [A-Za-z0-9._-], none of them "." or "..".
bool isValidKey(std::string_view key) noexcept;

// The client-facing error of a failed storage operation.
Error storageUnavailable();

}  // namespace atelier::blob
