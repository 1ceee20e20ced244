#include "support/test_s3.hpp"

#include <curl/curl.h>

#include <cstdlib>

namespace atelier::test {

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A signed request; returns the HTTP status (0 on a transport error).
long signedRequest(const std::string& url, bool head, std::string* body) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) return 0;
  curl_slist* headers = curl_slist_append(
      nullptr,
      "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string sink;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(easy, CURLOPT_USERPWD, "S3RVER:S3RVER");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (head) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, body != nullptr ? body : &sink);
  long status = 0;
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return status;
}

}  // namespace

TestS3::TestS3() {
  if (const char* e = std::getenv("ATELIER_TEST_S3_ENDPOINT"); e != nullptr) endpoint_ = e;
}

std::map<std::string, std::string> TestS3::env() const {
  return {{"STORAGE_URL", std::string("s3://") + kBucket},
          {"S3_ENDPOINT", endpoint_},
          {"S3_REGION", "us-east-1"},
          {"S3_FORCE_PATH_STYLE", "true"},
          {"AWS_ACCESS_KEY_ID", kKey},
          {"AWS_SECRET_ACCESS_KEY", kKey}};
}

bool TestS3::objectExists(const std::string& key) const {
  return signedRequest(endpoint_ + "/" + kBucket + "/" + key, true, nullptr) == 200;
}

bool TestS3::getObject(const std::string& key, std::string& bytes) const {
  bytes.clear();
  return signedRequest(endpoint_ + "/" + kBucket + "/" + key, false, &bytes) == 200;
}

}  // namespace atelier::test
