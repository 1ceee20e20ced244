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
