// The local S3 that ./dev test starts (s3rver, scripts/s3-server), named by
// ATELIER_TEST_S3_ENDPOINT. Without that variable the S3 cases skip — except under CI,
// where a skipped S3 run is a failure.
#pragma once

#include <cstdlib>
#include <map>
#include <string>

namespace atelier::test {

class TestS3 {
 public:
  static constexpr const char* kBucket = "atelier-test";
  static constexpr const char* kKey = "S3RVER";  // s3rver's fixed access key and secret

  TestS3();
  bool available() const { return !endpoint_.empty(); }
  const std::string& endpoint() const { return endpoint_; }
  // The server's variables for this S3.
  std::map<std::string, std::string> env() const;
  // Whether an object exists under `key` (a blocking, signed HEAD).
  bool objectExists(const std::string& key) const;
  // The object's bytes into `bytes`; false when there is none.
  bool getObject(const std::string& key, std::string& bytes) const;

 private:
  std::string endpoint_;
};

#define ATELIER_REQUIRE_S3(s3)                                                             \
  do {                                                                                     \
    if (!(s3).available()) {                                                               \
      if (std::getenv("CI") != nullptr) FAIL() << "S3 is required in CI (./dev test)";     \
      GTEST_SKIP() << "ATELIER_TEST_S3_ENDPOINT is not set (./dev test starts an s3rver)"; \
    }                                                                                      \
  } while (0)

}  // namespace atelier::test
