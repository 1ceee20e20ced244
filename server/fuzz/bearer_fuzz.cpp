// libFuzzer target for the path of a request's credentials: the Authorization header value
// (auth/bearer.cpp) and the access token in it (auth/jwt.cpp, libjwt underneath).
//
// Input: an Authorization header value. Checks that neither step crashes or reads outside
// the input, that the token is a part of the value, and that nothing the fuzzer makes is
// taken for a token of ours unless it really is one: a token that verifies names a UUID and
// fails under another secret.
//
//   ./dev fuzz bearer 60
//
// The seeds in corpus/bearer also run on every `./dev test` (auth_tests).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/bearer.hpp"
#include "auth/jwt.hpp"
#include "util/crypto.hpp"

namespace {

using atelier::auth::JwtCodec;

void check(const JwtCodec& ours, const JwtCodec& theirs, std::string_view token,
           atelier::TimePoint now) {
  auto claims = ours.verify(token, now);
  if (!claims.ok()) return;
  if (!atelier::isUuid(claims->userId)) std::abort();
  if (theirs.verify(token, now).ok()) std::abort();
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The secret the seeds were signed with (server/fuzz/corpus/bearer/README).
  static const JwtCodec ours(std::string(48, 'k'), std::chrono::minutes(15));
  static const JwtCodec theirs(std::string(48, 'o'), std::chrono::minutes(15));
  const auto now = atelier::fromUnixMillis(1'795'000'100'000);
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  const auto token = atelier::auth::bearerToken(header);
  if (!token.empty() && (token.data() < header.data() ||
                         token.data() + token.size() > header.data() + header.size())) {
    std::abort();
  }
  check(ours, theirs, token, now);
  check(ours, theirs, header, now);  // the value as a bare token, too
  return 0;
}
