#include "util/crypto.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace atelier {
namespace {

TEST(Uuid, V7IsWellFormed) {
  initCrypto();
  const std::string id = newUuidV7();
  EXPECT_TRUE(isUuid(id));
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

TEST(Uuid, V7IsStrictlyIncreasingWithinTheProcess) {
  std::string prev = newUuidV7();
  for (int i = 0; i < 20000; ++i) {
    std::string next = newUuidV7();
    ASSERT_LT(prev, next);
    prev = std::move(next);
  }
}

TEST(Uuid, V7IsUniqueAcrossThreads) {
  std::vector<std::vector<std::string>> out(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i)
        out[t].push_back(newUuidV7());
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (auto& v : out)
    all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20000u);
}

TEST(Uuid, RecognisesUuids) {
  EXPECT_TRUE(isUuid("01a2109f-424f-7073-b77f-3684b14542a8"));
  EXPECT_FALSE(isUuid("01a2109f-424f-7073-b77f-3684b14542a"));
  EXPECT_FALSE(isUuid("01a2109f-424f-7073-b77f_3684b14542a8"));
  EXPECT_FALSE(isUuid("g1a2109f-424f-7073-b77f-3684b14542a8"));
}

TEST(Crypto, Sha256AndConstantTimeCompare) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
}

TEST(Crypto, RandomTokensAreUrlSafeAndDistinct) {
  const auto a = randomToken(32);
  const auto b = randomToken(32);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

}  // namespace
}  // namespace atelier
