// Both blob stores against the real thing: a temporary directory, and s3rver (./dev test).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "blob/local_blob_store.hpp"
#include "blob/s3_blob_store.hpp"
#include "support/io_loop.hpp"
#include "support/test_s3.hpp"
#include "util/crypto.hpp"

namespace atelier::blob {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(BlobKey, AcceptsOnlyPlainRelativePaths) {
  EXPECT_TRUE(isValidKey("users/0190a1b2-0000-7000-8000-000000000001/uploads/x.png"));
  EXPECT_FALSE(isValidKey(""));
  EXPECT_FALSE(isValidKey("/etc/passwd"));
  EXPECT_FALSE(isValidKey("users/../secret"));
  EXPECT_FALSE(isValidKey("users/./x"));
  EXPECT_FALSE(isValidKey("users//x"));
  EXPECT_FALSE(isValidKey("users/x/"));
  EXPECT_FALSE(isValidKey("users/x y"));
  EXPECT_FALSE(isValidKey("users/x%2e"));
  EXPECT_FALSE(isValidKey(std::string(513, 'a')));
}

class BlobStoreTest : public ::testing::Test {
 protected:
  template <class T>
  T run(std::function<asio::awaitable<T>()> body) {
    return loop_.run<T>(std::move(body));
  }

  // Put, get, exists, replace, remove, remove again — the contract every store keeps.
  void roundTrip(BlobStore& store) {
    const std::string key = "users/" + newUuidV7() + "/uploads/" + newUuidV7() + ".png";
    std::string bytes;
    for (int i = 0; i < 70000; ++i)
      bytes.push_back(static_cast<char>(i * 7 % 256));
    EXPECT_FALSE(run<Result<bool>>([&] { return store.exists(key); }).value());
    EXPECT_FALSE(
        run<Result<std::optional<std::string>>>([&] { return store.get(key); })->has_value());
    const std::string type = "image/png";
    ASSERT_TRUE(run<Result<void>>([&] { return store.put(key, bytes, type); }).ok());
    EXPECT_TRUE(run<Result<bool>>([&] { return store.exists(key); }).value());
    auto got = run<Result<std::optional<std::string>>>([&] { return store.get(key); });
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, bytes);
    const std::string smaller = "replaced";
    ASSERT_TRUE(run<Result<void>>([&] { return store.put(key, smaller, type); }).ok());
    EXPECT_EQ(run<Result<std::optional<std::string>>>([&] { return store.get(key); })->value(),
              smaller);
    EXPECT_TRUE(run<Result<void>>([&] { return store.remove(key); }).ok());
    EXPECT_FALSE(run<Result<bool>>([&] { return store.exists(key); }).value());
    EXPECT_TRUE(run<Result<void>>([&] { return store.remove(key); }).ok());  // idempotent
    EXPECT_TRUE(run<Result<void>>([&] { return store.check(); }).ok());
    EXPECT_EQ(store.keyOf(store.urlOf(key)), key);
  }

  test::IoLoop loop_;
  std::unique_ptr<net::HttpClient> http_ = std::make_unique<net::HttpClient>(loop_.executor());
  WorkerPool files_{"files", 2, 64};
};

class LocalBlobStoreTest : public BlobStoreTest {
 protected:
  void SetUp() override { root_ = fs::temp_directory_path() / ("atelier-blob-" + randomToken(6)); }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(LocalBlobStoreTest, KeepsTheContract) {
  auto store = LocalBlobStore::open(root_ / "nested" / "uploads", files_);
  ASSERT_TRUE(store.ok()) << store.error().message;
  roundTrip(**store);
  EXPECT_EQ((*store)->urlOf("users/a/uploads/b.png"), "file:///users/a/uploads/b.png");
}

TEST_F(LocalBlobStoreTest, WritesNoPartialFileUnderTheRealNameAndCleansTemporariesAtStart) {
  auto store = LocalBlobStore::open(root_, files_);
  ASSERT_TRUE(store.ok());
  const std::string key = "users/u/uploads/x.gif";
  const std::string bytes = "GIF89a-bytes";
  const std::string type = "image/gif";
  ASSERT_TRUE(run<Result<void>>([&] { return (*store)->put(key, bytes, type); }).ok());
  // Only the final file is there: the temporary was renamed, not copied.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root_ / "users/u/uploads"))
    names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"x.gif"});
  // What a crash in the middle of a put leaves behind is removed at the next start.
  std::ofstream(root_ / "users/u/uploads/y.png.tmp-abcdef") << "half an image";
  auto reopened = LocalBlobStore::open(root_, files_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(root_ / "users/u/uploads/y.png.tmp-abcdef"));
  EXPECT_TRUE(fs::exists(root_ / "users/u/uploads/x.gif"));
}

TEST_F(LocalBlobStoreTest, RefusesKeysOutsideTheRootAndReportsAnUnwritableRoot) {
  auto store = LocalBlobStore::open(root_, files_);
  ASSERT_TRUE(store.ok());
  const std::string escape = "../escape.png";
  const std::string bytes = "x", type = "image/png";
  EXPECT_FALSE(run<Result<void>>([&] { return (*store)->put(escape, bytes, type); }).ok());
  EXPECT_FALSE(fs::exists(root_.parent_path() / "escape.png"));
  EXPECT_FALSE(
      run<Result<std::optional<std::string>>>([&] { return (*store)->get(escape); })->has_value());
  if (::geteuid() != 0) {  // root writes anywhere
    ::chmod(root_.c_str(), 0500);
    auto failed = run<Result<void>>([&] { return (*store)->put("users/z.png", bytes, type); });
    EXPECT_FALSE(failed.ok());
    if (!failed.ok()) {
      EXPECT_EQ(failed.error().code, Errc::unavailable);
      EXPECT_EQ(failed.error().message.find(root_.string()), std::string::npos);  // no paths
    }
    ::chmod(root_.c_str(), 0700);
  }
}

TEST_F(LocalBlobStoreTest, OpenFailsWithAClearMessageWhenTheDirectoryCannotExist) {
  std::ofstream(root_.string() + "-file") << "a file where a directory should be";
  auto store = LocalBlobStore::open(root_.string() + "-file/uploads", files_);
  EXPECT_FALSE(store.ok());
  if (!store.ok()) {
    EXPECT_NE(store.error().message.find("STORAGE_URL"), std::string::npos);
  }
  fs::remove(root_.string() + "-file");
}

class S3BlobStoreTest : public BlobStoreTest {
 protected:
  void SetUp() override { ATELIER_REQUIRE_S3(s3_); }
  S3Options options(std::string bucket = test::TestS3::kBucket) const {
    S3Options o;
    o.bucket = std::move(bucket);
    o.endpoint = s3_.endpoint();
    o.forcePathStyle = true;
    o.accessKeyId = test::TestS3::kKey;
    o.secretAccessKey = test::TestS3::kKey;
    return o;
  }
  test::TestS3 s3_;
};

TEST_F(S3BlobStoreTest, KeepsTheContractAgainstARealS3Server) {
  S3BlobStore store(options(), *http_);
  roundTrip(store);
  EXPECT_EQ(store.urlOf("users/a/uploads/b.png"), "s3://atelier-test/users/a/uploads/b.png");
}

TEST_F(S3BlobStoreTest, StoresTheExactBytesWhereS3ClientsFindThem) {
  S3BlobStore store(options(), *http_);
  const std::string key = "users/" + newUuidV7() + "/uploads/check.webp";
  std::string bytes(3000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(255 - i % 256);
  const std::string type = "image/webp";
  ASSERT_TRUE(run<Result<void>>([&] { return store.put(key, bytes, type); }).ok());
  std::string seen;
  ASSERT_TRUE(s3_.getObject(key, seen));  // an independent signed GET
  EXPECT_EQ(seen, bytes);
}

TEST_F(S3BlobStoreTest, AMissingBucketIsUnavailableNotMissing) {
  S3BlobStore store(options("no-such-bucket-here"), *http_);
  const std::string key = "users/a/uploads/b.png";
  auto got = run<Result<std::optional<std::string>>>([&] { return store.get(key); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::unavailable);
  EXPECT_FALSE(run<Result<void>>([&] { return store.check(); }).ok());
}

TEST_F(S3BlobStoreTest, AnUnreachableEndpointIsUnavailable) {
  auto o = options();
  o.endpoint = "http://127.0.0.1:1";
  S3BlobStore store(std::move(o), *http_);
  const std::string key = "users/a/uploads/b.png", bytes = "x", type = "image/png";
  auto put = run<Result<void>>([&] { return store.put(key, bytes, type); });
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, Errc::unavailable);
}

TEST(S3Addressing, BuildsPathAndVirtualHostStyleUrls) {
  asio::io_context ioc;
  net::HttpClient http(ioc.get_executor());
  S3Options o;
  o.bucket = "art";
  o.region = "eu-west-1";
  EXPECT_EQ(S3BlobStore(o, http).requestUrl("k/x.png"),
            "https://art.s3.eu-west-1.amazonaws.com/k/x.png");
  o.endpoint = "http://minio.local:9000/";
  EXPECT_EQ(S3BlobStore(o, http).requestUrl("k"), "http://art.minio.local:9000/k");
  o.forcePathStyle = true;
  EXPECT_EQ(S3BlobStore(o, http).requestUrl("k"), "http://minio.local:9000/art/k");
  EXPECT_EQ(s3ErrorCode("<Error><Code>NoSuchKey</Code></Error>"), "NoSuchKey");
  EXPECT_EQ(s3ErrorCode("garbage"), "");
}

}  // namespace
}  // namespace atelier::blob
