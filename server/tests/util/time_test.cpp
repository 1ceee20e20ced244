#include "util/time.hpp"

#include <gtest/gtest.h>

namespace atelier {
namespace {

TEST(Time, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(formatRfc3339(fromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339(fromUnixMillis(1795502460123)), "2026-11-24T06:41:00.123Z");
}

TEST(Time, ParsesWhatItFormats) {
  const auto t = fromUnixMillis(1795502460123);
  EXPECT_EQ(parseRfc3339(formatRfc3339(t)), t);
  EXPECT_EQ(parseRfc3339("2026-11-24T06:41:00Z"), fromUnixMillis(1795502460000));
  EXPECT_EQ(parseRfc3339("2026-11-24T06:41:00.1Z"), fromUnixMillis(1795502460100));
}

TEST(Time, RejectsMalformed) {
  for (const char* s :
       {"", "2026-11-24", "2026-11-24 06:41:00Z", "2026-13-24T06:41:00Z", "2026-11-24T06:41:00",
        "2026-11-24T06:41:00.Z", "2026-02-30T00:00:00Z", "x026-11-24T06:41:00Z"}) {
    EXPECT_FALSE(parseRfc3339(s).has_value()) << s;
  }
}

}  // namespace
}  // namespace atelier
