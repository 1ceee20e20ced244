#include "blob/s3_blob_store.hpp"

#include <spdlog/spdlog.h>

#include "util/crypto.hpp"

namespace atelier::blob {

namespace {

// SHA-256 of the empty payload, for GET, HEAD and DELETE.
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

bool isSuccess(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

std::string s3ErrorCode(std::string_view body) {
  const auto open = body.find("<Code>");
  if (open == std::string_view::npos) return {};
  const auto start = open + 6;
  const auto close = body.find("</Code>", start);
  if (close == std::string_view::npos || close - start > 64) return {};
  return std::string(body.substr(start, close - start));
}

S3BlobStore::S3BlobStore(S3Options options, net::HttpClient& http)
    : options_(std::move(options)), http_(http) {
  std::string endpoint = options_.endpoint;
  if (endpoint.empty()) endpoint = "https://s3." + options_.region + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.pop_back();
  if (options_.forcePathStyle) {
    base_ = endpoint + "/" + options_.bucket;
  } else {
    const auto scheme = endpoint.find("://");
    const auto cut = scheme == std::string::npos ? 0 : scheme + 3;
    base_ = endpoint.substr(0, cut) + options_.bucket + "." + endpoint.substr(cut);
  }
  sigV4_ = "aws:amz:" + options_.region + ":s3";
  userPwd_ = options_.accessKeyId + ":" + options_.secretAccessKey;
}

std::string S3BlobStore::urlOf(std::string_view key) const {
  return "s3://" + options_.bucket + "/" + std::string(key);
}

std::string S3BlobStore::requestUrl(std::string_view key) const {
  // Keys are isValidKey(): nothing in them needs percent-encoding.
  return base_ + "/" + std::string(key);
}

net::HttpRequest S3BlobStore::request(std::string method, std::string_view key,
                                      std::string_view payloadSha256) const {
  net::HttpRequest r;
  r.method = std::move(method);
  r.url = requestUrl(key);
  r.headers = {{"x-amz-content-sha256", std::string(payloadSha256)}, {"Expect", ""}};
  r.totalTimeout = options_.timeout;
  r.maxBodyBytes = options_.maxObjectBytes;
  if (!options_.accessKeyId.empty()) {
    r.awsSigV4 = sigV4_;
    r.userPwd = userPwd_;
  }
  return r;
}

boost::asio::awaitable<Result<net::HttpResponse>> S3BlobStore::send(net::HttpRequest request,
                                                                    std::string_view what,
                                                                    std::string_view key) {
  auto r = co_await http_.fetch(std::move(request));
  if (!r) {
    spdlog::error("S3: {} {} in bucket {} failed: {}", what, key, options_.bucket,
                  r.error().message);
    co_return storageUnavailable();
  }
  co_return r;
}

// Logs what S3 said and returns the client-facing error.
static Error s3Refused(std::string_view what, std::string_view key, std::string_view bucket,
                       const net::HttpResponse& res) {
  const std::string code = s3ErrorCode(res.body);
  std::string hint;
  if (code == "NoSuchBucket") {
    hint = " (the bucket does not exist)";
  } else if (res.head.status == 403) {
    hint = " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_REGION)";
  }
  spdlog::error("S3: {} {} in bucket {}: HTTP {} {}{}", what, key, bucket, res.head.status,
                code.empty() ? std::string("(no error code)") : code, hint);
  return storageUnavailable();
}

boost::asio::awaitable<Result<void>> S3BlobStore::put(const std::string& key,
                                                      std::string_view bytes,
                                                      const std::string& contentType) {
  if (!isValidKey(key)) co_return Error::make(Errc::internal, "invalid storage key");
  auto req = request("PUT", key, sha256Hex(bytes));
  req.headers.emplace_back("Content-Type", contentType);
  req.body = std::string(bytes);
  auto res = co_await send(std::move(req), "PUT", key);
  if (!res) co_return std::move(res).error();
  if (!isSuccess(res->head.status)) co_return s3Refused("PUT", key, options_.bucket, *res);
  co_return Result<void>{};
}

boost::asio::awaitable<Result<std::optional<std::string>>> S3BlobStore::get(
    const std::string& key) {
  if (!isValidKey(key)) co_return std::optional<std::string>();
  auto req = request("GET", key, kEmptySha256);
  auto res = co_await send(std::move(req), "GET", key);
  if (!res) co_return std::move(res).error();
  if (res->head.status == 404 && s3ErrorCode(res->body) != "NoSuchBucket") {
    co_return std::optional<std::string>();
  }
  if (!isSuccess(res->head.status)) co_return s3Refused("GET", key, options_.bucket, *res);
  co_return std::optional<std::string>(std::move(res->body));
}

boost::asio::awaitable<Result<void>> S3BlobStore::remove(const std::string& key) {
  if (!isValidKey(key)) co_return Result<void>{};
  auto req = request("DELETE", key, kEmptySha256);
  auto res = co_await send(std::move(req), "DELETE", key);
  if (!res) co_return std::move(res).error();
  // S3 answers 204 whether or not the key existed; some servers say 404 for a missing key.
  if (res->head.status == 404 && s3ErrorCode(res->body) != "NoSuchBucket") {
    co_return Result<void>{};
  }
  if (!isSuccess(res->head.status)) co_return s3Refused("DELETE", key, options_.bucket, *res);
  co_return Result<void>{};
}

boost::asio::awaitable<Result<bool>> S3BlobStore::exists(const std::string& key) {
  if (!isValidKey(key)) co_return false;
  auto req = request("HEAD", key, kEmptySha256);
  auto res = co_await send(std::move(req), "HEAD", key);
  if (!res) co_return std::move(res).error();
  if (res->head.status == 404) co_return false;  // HEAD has no body to tell a bucket apart
  if (!isSuccess(res->head.status)) co_return s3Refused("HEAD", key, options_.bucket, *res);
  co_return true;
}

boost::asio::awaitable<Result<void>> S3BlobStore::check() {
  // HEAD on the bucket: 200 when it exists and the credentials may use it.
  auto req = request("HEAD", "", kEmptySha256);  // the bucket's own url
  req.totalTimeout = std::chrono::seconds(10);
  auto res = co_await send(std::move(req), "HEAD", "(the bucket)");
  if (!res) co_return std::move(res).error();
  if (!isSuccess(res->head.status)) {
    spdlog::error("S3: the bucket {} answered HTTP {}{}", options_.bucket, res->head.status,
                  res->head.status == 404   ? " (it does not exist)"
                  : res->head.status == 403 ? " (check the credentials and S3_REGION)"
                                            : "");
    co_return storageUnavailable();
  }
  co_return Result<void>{};
}

}  // namespace atelier::blob
