// The token of an Authorization header value.
#include "auth/bearer.hpp"

#include <gtest/gtest.h>

namespace atelier::auth {
namespace {

TEST(Bearer, TakesTheTokenWhateverTheSchemesCaseAndSpaces) {
  EXPECT_EQ(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearerToken("bearer abc"), "abc");
  EXPECT_EQ(bearerToken("BEARER    abc   "), "abc");
  EXPECT_EQ(bearerToken("Bearer "), "");
  EXPECT_EQ(bearerToken("Bearer"), "");
  EXPECT_EQ(bearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearerToken("Bearerabc"), "");
  EXPECT_EQ(bearerToken(""), "");
}

}  // namespace
}  // namespace atelier::auth
