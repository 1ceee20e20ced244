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

constexpr char asciiLower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal ignoring ASCII case (header names, media types, parameter names).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

constexpr bool isAsciiAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Well-formed UTF-8 (lengths and continuation bytes; overlong two-byte forms refused).
constexpr bool validUtf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80             ? 1
                            : (c & 0xe0) == 0xc0 ? 2
                            : (c & 0xf0) == 0xe0 ? 3
                            : (c & 0xf8) == 0xf0 ? 4
                                                 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    if (len == 2 && c < 0xc2) return false;
    i += len;
  }
  return true;
}

}  // namespace atelier
