#include "uploads/upload_service.hpp"

#include <spdlog/spdlog.h>

#include "uploads/image_type.hpp"
#include "util/crypto.hpp"

namespace atelier::uploads {

namespace asio = boost::asio;

Error uploadNotFound() {
  return Error::make(Errc::not_found, "no such upload");
}

UploadService::UploadService(UploadSettings settings, store::Store& store, WorkerPool& dbPool,
                             WorkerPool& cpu, blob::BlobStore& blobs, const Clock& clock)
    : settings_(settings),
      store_(store),
      dbPool_(dbPool),
      cpu_(cpu),
      blobs_(blobs),
      clock_(clock) {}

std::string UploadService::objectKey(std::string_view userId, std::string_view uploadId,
                                     std::string_view extension) {
  std::string key = "users/";
  key.append(userId).append("/uploads/").append(uploadId).append(".").append(extension);
  return key;
}

asio::awaitable<Result<store::Upload>> UploadService::create(const std::string& userId,
                                                             std::string_view bytes) {
  if (bytes.empty()) co_return Error::make(Errc::invalid_request, "the file is empty", "file");
  if (bytes.size() > static_cast<std::uint64_t>(settings_.maxBytes)) {
    co_return Error::make(
        Errc::payload_too_large,
        "the file is larger than " + std::to_string(settings_.maxBytes) + " bytes");
  }
  const auto type = sniffImageType(bytes);
  if (!type) {
    co_return Error::make(Errc::unsupported_media_type,
                          "only PNG, JPEG, WebP and GIF images can be uploaded");
  }
  store::Upload u;
  u.uploadId = newUuidV7();
  u.userId = userId;
  u.objectKey = objectKey(userId, u.uploadId, type->extension);
  u.mimeType = std::string(type->mimeType);
  u.sizeBytes = static_cast<std::int64_t>(bytes.size());
  u.createdAt = clock_.now();
  auto hashed = co_await cpu_.run([&]() -> Result<std::string> { return sha256Hex(bytes); });
  if (!hashed) co_return std::move(hashed).error();
  u.sha256 = std::move(hashed).value();

  // The object first: a row never names bytes that are not there.
  if (auto put = co_await blobs_.put(u.objectKey, bytes, u.mimeType); !put) {
    co_return std::move(put).error();
  }
  auto inserted = co_await dbPool_.run([&] { return store_.insertUpload(u); });
  if (!inserted) {
    if (auto undo = co_await blobs_.remove(u.objectKey); !undo) {
      spdlog::warn("upload {}: the object stays behind after a failed insert", u.uploadId);
    }
    co_return std::move(inserted).error();
  }
  spdlog::info("upload {} stored: {} bytes, {}", u.uploadId, u.sizeBytes, u.mimeType);
  co_return u;
}

asio::awaitable<Result<store::Upload>> UploadService::find(const std::string& userId,
                                                           const std::string& uploadId) {
  auto found = co_await dbPool_.run([&] { return store_.findUpload(userId, uploadId); });
  if (!found) co_return std::move(found).error();
  if (!found->has_value()) co_return uploadNotFound();
  co_return std::move(**found);
}

asio::awaitable<Result<UploadService::Content>> UploadService::content(
    const std::string& userId, const std::string& uploadId) {
  auto upload = co_await find(userId, uploadId);
  if (!upload) co_return std::move(upload).error();
  auto bytes = co_await blobs_.get(upload->objectKey);
  if (!bytes) co_return std::move(bytes).error();
  if (!bytes->has_value()) {
    spdlog::error("upload {}: its object {} is missing from {} storage", uploadId,
                  upload->objectKey, blobs_.kind());
    co_return uploadNotFound();
  }
  co_return Content{std::move(upload).value(), std::move(**bytes)};
}

asio::awaitable<Result<void>> UploadService::remove(const std::string& userId,
                                                    const std::string& uploadId) {
  auto upload = co_await find(userId, uploadId);
  if (!upload) co_return std::move(upload).error();
  if (auto gone = co_await blobs_.remove(upload->objectKey); !gone) {
    co_return std::move(gone).error();
  }
  auto deleted = co_await dbPool_.run([&] { return store_.deleteUpload(userId, uploadId); });
  if (!deleted) co_return std::move(deleted).error();
  if (!*deleted) co_return uploadNotFound();  // a concurrent DELETE won
  spdlog::info("upload {} deleted", uploadId);
  co_return Result<void>{};
}

Result<std::optional<store::Upload>> UploadService::resolveNow(const std::string& userId,
                                                               std::string_view url) {
  const auto key = blobs_.keyOf(url);
  if (!key) return std::optional<store::Upload>();
  return store_.findUploadByKey(userId, *key);
}

asio::awaitable<Result<std::vector<std::optional<InlineData>>>> UploadService::loadInline(
    const std::vector<store::Upload>& uploads) {
  std::vector<std::optional<std::string>> raw;
  raw.reserve(uploads.size());
  for (const auto& u : uploads) {
    auto bytes = co_await blobs_.get(u.objectKey);
    if (!bytes) co_return std::move(bytes).error();
    raw.push_back(std::move(bytes).value());
  }
  // base64 of a 10 MiB image takes milliseconds: not on an I/O thread.
  co_return co_await cpu_.run([&]() -> Result<std::vector<std::optional<InlineData>>> {
    std::vector<std::optional<InlineData>> out;
    out.reserve(uploads.size());
    for (std::size_t i = 0; i < uploads.size(); ++i) {
      if (!raw[i]) {
        out.emplace_back();
        continue;
      }
      out.push_back(InlineData{uploads[i].mimeType, base64Encode(*raw[i])});
    }
    return out;
  });
}

}  // namespace atelier::uploads
