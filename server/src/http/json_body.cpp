#include "http/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>

namespace atelier::http {

namespace json = boost::json;

namespace {
Error bad(std::string_view field, std::string message) {
  return Error::make(Errc::invalid_request, std::move(message), std::string(field));
}
}  // namespace

Response jsonResponse(int status, const json::value& value) {
  return Response::json(status, json::serialize(value));
}

Result<json::object> parseJsonObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(body, ec, {}, opts);
  if (ec) return Error::make(Errc::invalid_request, "the request body is not valid JSON");
  if (!v.is_object())
    return Error::make(Errc::invalid_request, "the request body must be a JSON object");
  return std::move(v.as_object());
}

Result<std::optional<std::string>> optionalString(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return bad(field, std::string(field) + " must be a string");
  std::string s(it->value().as_string());
  if (s.find('\0') != std::string::npos)
    return bad(field, std::string(field) + " must not contain NUL characters");
  return std::optional<std::string>(std::move(s));
}

Result<std::string> requireString(const json::object& o, std::string_view field) {
  auto s = optionalString(o, field);
  if (!s) return std::move(s).error();
  if (!s->has_value()) return bad(field, std::string(field) + " is required");
  return std::move(**s);
}

Result<std::optional<bool>> optionalBool(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<bool>();
  if (!it->value().is_bool()) return bad(field, std::string(field) + " must be true or false");
  return std::optional<bool>(it->value().as_bool());
}

std::size_t utf8Length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace atelier::http
