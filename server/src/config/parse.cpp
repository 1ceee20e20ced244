#include "config/parse.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <limits>

namespace atelier::config {

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (text.size() > 80) out += "…";
  out += '"';
  return out;
}

Parsed<std::int64_t> parseInteger(std::string_view text, std::int64_t min, std::int64_t max) {
  if (text.empty()) return std::string("empty, expected a number");
  for (char c : text) {
    if (c < '0' || c > '9') {
      if (c == '-' && text.size() > 1 && min < 0) continue;
      return "not a number: " + quoted(text);
    }
  }
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) return "too large: " + quoted(text);
  if (ec != std::errc() || end != text.data() + text.size()) return "not a number: " + quoted(text);
  if (v < min || v > max) {
    return "out of range: " + std::to_string(v) + " (allowed " + std::to_string(min) + "–" +
           std::to_string(max) + ")";
  }
  return v;
}

Parsed<std::chrono::seconds> parseDuration(std::string_view text) {
  const std::string bad = "not a duration: " + quoted(text) + " (use e.g. 90s, 15m, 12h, 30d)";
  if (text == "0") return std::chrono::seconds(0);
  if (text.size() < 2) return bad;
  const char unit = text.back();
  std::int64_t scale = 0;
  switch (unit) {
    case 's':
      scale = 1;
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'd':
      scale = 86400;
      break;
    default:
      return bad;
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  for (char c : digits) {
    if (c < '0' || c > '9') return bad;
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  // At most ~100 years: a bigger value is a typo, and it must not overflow later arithmetic.
  constexpr std::int64_t kMaxSeconds = 100LL * 365 * 86400;
  if (ec != std::errc() || end != digits.data() + digits.size() || n > kMaxSeconds / scale) {
    return "too large: " + quoted(text);
  }
  return std::chrono::seconds(n * scale);
}

Parsed<bool> parseBool(std::string_view text) {
  std::string t;
  for (char c : text)
    t += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return "not a boolean: " + quoted(text) + " (use true or false)";
}

Parsed<std::vector<std::string>> parseOrigins(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    while (!item.empty() && item.back() == '/')
      item.remove_suffix(1);
    if (!item.empty()) {
      auto u = boost::urls::parse_absolute_uri(item);
      if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty() ||
          !u->encoded_path().empty() || u->has_query() || u->has_userinfo()) {
        return "not an origin: " + quoted(item) + " (use scheme://host[:port])";
      }
      out.emplace_back(item);
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace atelier::config
