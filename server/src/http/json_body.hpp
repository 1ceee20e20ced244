// Reading JSON request bodies: every failure is Errc::invalid_request naming the field.
// Strings must be valid UTF-8 (Boost.JSON rejects anything else) without NUL characters.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/response.hpp"
#include "util/result.hpp"

namespace atelier::http {

// A response whose body is `value`, serialized.
Response jsonResponse(int status, const boost::json::value& value);

// The body as a JSON object. An empty body is an empty object.
Result<boost::json::object> parseJsonObject(std::string_view body);

// A required string field.
Result<std::string> requireString(const boost::json::object& o, std::string_view field);
// An optional string field (absent or null → nullopt); any other type is an error.
Result<std::optional<std::string>> optionalString(const boost::json::object& o,
                                                  std::string_view field);
// An optional boolean field.
Result<std::optional<bool>> optionalBool(const boost::json::object& o, std::string_view field);

// Length in Unicode code points of valid UTF-8.
std::size_t utf8Length(std::string_view s) noexcept;

}  // namespace atelier::http
