#include "util/text.hpp"

#include <gtest/gtest.h>

namespace atelier {
namespace {

TEST(Text, TrimsBlanksByDefault) {
  EXPECT_EQ(trim("  a b \t"), "a b");
  EXPECT_EQ(trim("\n a \n"), "\n a \n");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(Text, TrimsTheGivenCharacters) {
  EXPECT_EQ(trim("\r\n\t hello \v\f", kWhiteSpace), "hello");
  EXPECT_EQ(trimStart("  x  "), "x  ");
  EXPECT_EQ(trimEnd("  x \r\n", "\r\n "), "  x");
  EXPECT_EQ(trimEnd("xxx", "x"), "");
  static_assert(trim(" ok ") == "ok");
}

}  // namespace
}  // namespace atelier
