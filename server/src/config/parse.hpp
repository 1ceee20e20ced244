// Parsers for configuration values. Each returns the value or a message saying what is
// wrong with the text (without the variable name; the caller prefixes it). Pure functions:
// fuzzed and unit-tested on their own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace atelier::config {

template <class T>
using Parsed = std::variant<T, std::string>;  // value, or what is wrong

// "90s", "15m", "12h", "30d", or "0". No sign, no spaces, no fractions.
Parsed<std::chrono::seconds> parseDuration(std::string_view text);
// A decimal integer in [min, max]: no sign, spaces or trailing characters.
Parsed<std::int64_t> parseInteger(std::string_view text, std::int64_t min, std::int64_t max);
// true/false/1/0/yes/no/on/off, case-insensitive.
Parsed<bool> parseBool(std::string_view text);
// Comma-separated origins, each scheme://host[:port] (http or https), no path; empty → {}.
Parsed<std::vector<std::string>> parseOrigins(std::string_view text);

// Human text for a parse failure, e.g. `not a number: "80a"`.
std::string quoted(std::string_view text);

}  // namespace atelier::config
