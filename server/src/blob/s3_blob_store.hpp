// Blobs as objects in an S3 bucket (STORAGE_URL=s3://<bucket>), through our HttpClient:
// PUT, GET, HEAD and DELETE signed by libcurl's AWS SigV4 (CURLOPT_AWS_SIGV4), the payload's
// SHA-256 in x-amz-content-sha256 as SigV4 requires. Works with AWS and with compatible
// servers (MinIO, s3rver, R2) through S3_ENDPOINT and S3_FORCE_PATH_STYLE.
#pragma once

#include <chrono>
#include <string>

#include "blob/blob_store.hpp"
#include "net/http_client.hpp"

namespace atelier::blob {

struct S3Options {
  std::string bucket;
  std::string endpoint;  // "https://host[:port]"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  bool forcePathStyle = false;  // <endpoint>/<bucket>/<key> instead of <bucket>.<host>/<key>
  std::string accessKeyId;
  std::string secretAccessKey;
  std::uint64_t maxObjectBytes = std::uint64_t{64} << 20;  // the largest GET we accept
  std::chrono::milliseconds timeout{120'000};              // one whole request
};

class S3BlobStore final : public BlobStore {
 public:
  S3BlobStore(S3Options options, net::HttpClient& http);

  std::string_view kind() const noexcept override { return "s3"; }
  std::string urlOf(std::string_view key) const override;
  boost::asio::awaitable<Result<void>> put(const std::string& key, std::string_view bytes,
                                           const std::string& contentType) override;
  boost::asio::awaitable<Result<std::optional<std::string>>> get(const std::string& key) override;
  boost::asio::awaitable<Result<void>> remove(const std::string& key) override;
  boost::asio::awaitable<Result<bool>> exists(const std::string& key) override;
  boost::asio::awaitable<Result<void>> check() override;

  // The request URL of `key` ("" names the bucket itself).
  std::string requestUrl(std::string_view key) const;

 private:
  net::HttpRequest request(std::string method, std::string_view key,
                           std::string_view payloadSha256) const;
  // Sends it; logs and maps a transport failure to storageUnavailable().
  boost::asio::awaitable<Result<net::HttpResponse>> send(net::HttpRequest request,
                                                         std::string_view what,
                                                         std::string_view key);

  S3Options options_;
  net::HttpClient& http_;
  std::string base_;  // scheme://host[:port]
  std::string sigV4_;
  std::string userPwd_;
};

// The <Code> of an S3 XML error body ("NoSuchKey", "AccessDenied", …), or "".
std::string s3ErrorCode(std::string_view body);

}  // namespace atelier::blob
