// Uploaded images: the bytes in the blob store, the row that makes them a user's in the
// database. Also resolves message attachments (urls this server issued) and loads their
// bytes for the model.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "blob/blob_store.hpp"
#include "store/store.hpp"
#include "util/result.hpp"
#include "util/time.hpp"
#include "util/worker_pool.hpp"

namespace atelier::uploads {

struct UploadSettings {
  std::int64_t maxBytes = 10485760;  // MAX_UPLOAD_BYTES
};

// An image ready to send inline: its type and its bytes in base64.
struct InlineData {
  std::string mimeType;
  std::string base64;
};

class UploadService {
 public:
  // `cpu` runs hashing and base64 of large images off the I/O threads.
  UploadService(UploadSettings settings, store::Store& store, WorkerPool& dbPool, WorkerPool& cpu,
                blob::BlobStore& blobs, const Clock& clock);

  // Keeps `bytes` as the user's new upload. 400 when empty, 413 over maxBytes, 415 when the
  // bytes are not a PNG, JPEG, WebP or GIF image. `bytes` must outlive the await.
  boost::asio::awaitable<Result<store::Upload>> create(const std::string& userId,
                                                       std::string_view bytes);
  // The user's upload (Errc::not_found otherwise).
  boost::asio::awaitable<Result<store::Upload>> find(const std::string& userId,
                                                     const std::string& uploadId);
  struct Content {
    store::Upload upload;
    std::string bytes;
  };
  boost::asio::awaitable<Result<Content>> content(const std::string& userId,
                                                  const std::string& uploadId);
  // Deletes the object, then the row (a failure in between leaves a row whose object is
  // gone, which a retried DELETE finishes; never an object nobody can delete).
  boost::asio::awaitable<Result<void>> remove(const std::string& userId,
                                              const std::string& uploadId);

  // The upload's public url ("file:///users/…" or "s3://bucket/users/…").
  std::string urlOf(const store::Upload& u) const { return blobs_.urlOf(u.objectKey); }

  // The user's upload that `url` names, if it is one this server issued to that user and
  // it has not been deleted. Blocking: call on a database worker.
  Result<std::optional<store::Upload>> resolveNow(const std::string& userId, std::string_view url);

  // The images' bytes in base64, in order; nullopt where the object is gone.
  boost::asio::awaitable<Result<std::vector<std::optional<InlineData>>>> loadInline(
      const std::vector<store::Upload>& uploads);

  // "users/<user_id>/uploads/<upload_id>.<ext>"
  static std::string objectKey(std::string_view userId, std::string_view uploadId,
                               std::string_view extension);

 private:
  UploadSettings settings_;
  store::Store& store_;
  WorkerPool& dbPool_;
  WorkerPool& cpu_;
  blob::BlobStore& blobs_;
  const Clock& clock_;
};

// 404 not_found for a missing upload, or another user's.
Error uploadNotFound();

}  // namespace atelier::uploads
