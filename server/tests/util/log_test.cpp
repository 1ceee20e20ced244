#include "util/log.hpp"

#include <gtest/gtest.h>

namespace atelier {
namespace {

TEST(JsonEscape, EscapesControlsQuotesAndKeepsUtf8) {
  EXPECT_EQ(jsonEscaped("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
  EXPECT_EQ(jsonEscaped("héllo ✓ 🎨"), "héllo ✓ 🎨");
}

TEST(JsonEscape, ReplacesInvalidUtf8) {
  EXPECT_EQ(jsonEscaped("a\xff"
                        "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(jsonEscaped("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong
  EXPECT_EQ(jsonEscaped("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(jsonEscaped("\xe2\x9c"), "\xef\xbf\xbd\xef\xbf\xbd");                  // truncated
}

}  // namespace
}  // namespace atelier
