#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "http/request.hpp"
#include "http/response.hpp"
#include "util/text.hpp"

namespace atelier::http {

std::optional<std::string_view> findHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::queryParam(std::string_view name) const {
  auto encoded = boost::urls::parse_query(query);
  if (!encoded) return std::nullopt;  // malformed percent-escapes: treat as absent
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto p : boost::urls::params_view(query, opts)) {
    if (p.key == name) return p.has_value ? p.value : std::string{};
  }
  return std::nullopt;
}

void Response::setHeader(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

Response Response::text(int status, std::string body, std::string contentType) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(contentType));
  return r;
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

}  // namespace atelier::http

namespace atelier::http {

namespace {

// Calls f(item) for each comma-separated item of a header value, blanks trimmed.
template <typename F>
bool anyListItem(std::string_view value, F f) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    if (!item.empty() && f(item)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool Request::notModifiedSince(std::string_view etag) const {
  const auto v = header("If-None-Match");
  if (!v) return false;
  return anyListItem(*v, [etag](std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison, as for GET
    return tag == "*" || tag == etag;
  });
}

bool Request::acceptsEncoding(std::string_view coding) const {
  const auto v = header("Accept-Encoding");
  if (!v) return false;
  return anyListItem(*v, [coding](std::string_view item) {
    const auto semi = item.find(';');
    if (!iequals(trim(item.substr(0, semi)), coding)) return false;
    if (semi == std::string_view::npos) return true;
    std::string_view q = trim(item.substr(semi + 1));
    if (q.size() < 2 || asciiLower(q[0]) != 'q' || q[1] != '=') return true;
    q.remove_prefix(2);
    return q.find_first_not_of("0.") != std::string_view::npos;  // q=0, q=0.0, q=0.000: refused
  });
}

}  // namespace atelier::http
