// Access-token verification accepts exactly one thing: HS256, our secret, our issuer, a
// UUID subject, inside its lifetime. These are the attacks it must refuse.
#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include "util/crypto.hpp"

namespace atelier::auth {
namespace {

using namespace std::chrono_literals;

const std::string kSecret(48, 's');
const std::string kUser = "01a210bb-cbf4-7000-a931-4b3e19643593";
const TimePoint kNow = fromUnixMillis(1'795'000'000'000);
const long kNowSec = 1'795'000'000;

std::string b64url(std::string_view s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

// header.payload.HMAC-SHA256(key) whatever the header claims.
std::string signHs256(const std::string& header, const std::string& payload,
                      const std::string& key) {
  const std::string input = b64url(header) + "." + b64url(payload);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

std::string claims(long iat, long exp, const std::string& sub = kUser,
                   const std::string& iss = "atelier") {
  std::string c = R"({"iss":")" + iss + R"(","iat":)" + std::to_string(iat) + R"(,"exp":)" +
                  std::to_string(exp);
  if (!sub.empty()) c += R"(,"sub":")" + sub + "\"";
  return c + "}";
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override { initCrypto(); }
  JwtCodec codec_{kSecret, 900s};
  bool accepted(const std::string& token) { return codec_.verify(token, kNow).ok(); }
};

TEST_F(JwtTest, IssuedTokensVerifyWithTheirClaims) {
  auto token = codec_.issue(kUser, kNow);
  ASSERT_TRUE(token.ok());
  auto claims = codec_.verify(*token, kNow + 10s);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->userId, kUser);
  EXPECT_EQ(claims->expiresAt, kNow + 900s);
}

TEST_F(JwtTest, PositiveControlHandSignedHs256IsAccepted) {
  EXPECT_TRUE(accepted(signHs256(kHs256, claims(kNowSec, kNowSec + 600), kSecret)));
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  const std::string none =
      b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims(kNowSec, kNowSec + 600));
  EXPECT_FALSE(accepted(none + "."));
  EXPECT_FALSE(accepted(none));
}

TEST_F(JwtTest, OtherAlgorithmsAreRefused) {
  EXPECT_FALSE(accepted(
      signHs256(R"({"alg":"RS256","typ":"JWT"})", claims(kNowSec, kNowSec + 600), kSecret)));
  EXPECT_FALSE(accepted(
      signHs256(R"({"alg":"HS512","typ":"JWT"})", claims(kNowSec, kNowSec + 600), kSecret)));
  EXPECT_FALSE(accepted(
      signHs256(R"({"alg":"ES256","typ":"JWT"})", claims(kNowSec, kNowSec + 600), kSecret)));
}

TEST_F(JwtTest, AnotherSecretOrATamperedPartIsRefused) {
  EXPECT_FALSE(accepted(signHs256(kHs256, claims(kNowSec, kNowSec + 600), std::string(48, 'x'))));
  const auto good = *codec_.issue(kUser, kNow);
  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(accepted(tampered));
  const auto dot = good.find('.');
  const auto forged =
      good.substr(0, dot) + "." +
      b64url(claims(kNowSec, kNowSec + 600, "01a210bb-cbf4-7000-a931-000000000000")) +
      good.substr(good.rfind('.'));
  EXPECT_FALSE(accepted(forged));
}

TEST_F(JwtTest, ExpiryHasAtMostThirtySecondsOfLeeway) {
  EXPECT_TRUE(accepted(signHs256(kHs256, claims(kNowSec - 900, kNowSec - 29), kSecret)));
  EXPECT_FALSE(accepted(signHs256(kHs256, claims(kNowSec - 900, kNowSec - 31), kSecret)));
}

TEST_F(JwtTest, NotYetValidIsRefused) {
  EXPECT_FALSE(accepted(signHs256(kHs256, claims(kNowSec + 3600, kNowSec + 4500), kSecret)));
}

TEST_F(JwtTest, MissingOrMalformedClaimsAreRefused) {
  EXPECT_FALSE(accepted(signHs256(kHs256, claims(kNowSec, kNowSec + 600, ""), kSecret)));
  EXPECT_FALSE(accepted(signHs256(kHs256, claims(kNowSec, kNowSec + 600, "admin"), kSecret)));
  EXPECT_FALSE(
      accepted(signHs256(kHs256, claims(kNowSec, kNowSec + 600, kUser, "someone-else"), kSecret)));
  EXPECT_FALSE(accepted(
      signHs256(kHs256, R"({"iss":"atelier","sub":")" + kUser + R"(","iat":1})", kSecret)));
  EXPECT_FALSE(accepted(signHs256(
      kHs256, R"({"iss":"atelier","sub":")" + kUser + R"(","exp":"soon","iat":1})", kSecret)));
}

// A verified token is remembered, not trusted: each use checks the time again, and the
// memory is the codec's own (another secret does not share it).
TEST_F(JwtTest, ARememberedTokenIsStillCheckedAgainstTheTime) {
  auto token = codec_.issue(kUser, kNow);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(codec_.verify(*token, kNow).ok());
  ASSERT_TRUE(codec_.verify(*token, kNow + 900s + 29s).ok());  // within the leeway
  const auto late = codec_.verify(*token, kNow + 900s + 31s);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::unauthorized);
  EXPECT_FALSE(codec_.verify(*token, kNow - 31s).ok());  // before it was issued
  EXPECT_TRUE(codec_.verify(*token, kNow + 10s).ok());
  const JwtCodec other(std::string(48, 'o'), 900s);
  EXPECT_FALSE(other.verify(*token, kNow).ok());
  // More tokens than it remembers: it forgets, and still verifies every one.
  for (std::size_t i = 0; i < JwtCodec::kRememberedTokens + 10; ++i) {
    auto t = codec_.issue(kUser, kNow + std::chrono::seconds(i));
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(codec_.verify(*t, kNow + std::chrono::seconds(i)).ok()) << i;
  }
  EXPECT_TRUE(codec_.verify(*token, kNow + 10s).ok());
}

TEST_F(JwtTest, GarbageIsRefused) {
  for (const char* t :
       {"", "garbage", "a.b.c", "a.b.", "..", "a.b.c.d", "eyJ.eyJ.sig", "Bearer x.y.z"}) {
    EXPECT_FALSE(accepted(t)) << t;
  }
  EXPECT_FALSE(accepted(std::string(5000, 'a')));
}

}  // namespace
}  // namespace atelier::auth
