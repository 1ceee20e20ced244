// The bearer fuzz target over its committed corpus, on every test run.
#include "support/fuzz_corpus.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/bearer.hpp"
#include "auth/jwt.hpp"

TEST(BearerFuzzCorpus, EveryInputRunsClean) {
  atelier::test::replayFuzzCorpus("bearer");
}

// The seed signed with the target's secret verifies, so the fuzzer starts from a token that
// reaches the checks after verification.
TEST(BearerFuzzCorpus, TheValidSeedIsAccepted) {
  std::ifstream in(std::string(ATELIER_SOURCE_DIR) + "/server/fuzz/corpus/bearer/valid");
  const std::string header((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const atelier::auth::JwtCodec ours(std::string(48, 'k'), std::chrono::minutes(15));
  auto claims =
      ours.verify(atelier::auth::bearerToken(header), atelier::fromUnixMillis(1'795'000'100'000));
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->userId, "01a24245-b7e0-7000-90f1-e7bc63bfc1d6");
}
