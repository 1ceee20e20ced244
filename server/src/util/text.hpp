// Small string helpers shared by the parsers and validators.
#pragma once

#include <string_view>

namespace atelier {

// Blanks as HTTP header values know them, and all ASCII white space.
inline constexpr std::string_view kBlanks = " \t";
inline constexpr std::string_view kWhiteSpace = " \t\n\r\f\v";

// `s` without leading characters from `strip`.
constexpr std::string_view trimStart(std::string_view s,
                                     std::string_view strip = kBlanks) noexcept {
  const auto first = s.find_first_not_of(strip);
  return first == std::string_view::npos ? std::string_view() : s.substr(first);
}

// `s` without trailing characters from `strip`.
constexpr std::string_view trimEnd(std::string_view s, std::string_view strip = kBlanks) noexcept {
  const auto last = s.find_last_not_of(strip);
  return last == std::string_view::npos ? std::string_view() : s.substr(0, last + 1);
}

// `s` without leading and trailing characters from `strip`.
constexpr std::string_view trim(std::string_view s, std::string_view strip = kBlanks) noexcept {
  return trimEnd(trimStart(s, strip), strip);
}

}  // namespace atelier
