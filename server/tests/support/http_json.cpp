#include "support/http_json.hpp"

namespace atelier::test {

std::string JsonResponse::errorCode() const {
  if (!json.is_object() || !json.as_object().contains("error")) return "";
  return std::string(json.at("error").at("code").as_string());
}

std::string JsonResponse::errorField() const {
  if (!json.is_object() || !json.as_object().contains("error")) return "";
  const auto& e = json.at("error").as_object();
  if (!e.contains("details")) return "";
  const auto& d = e.at("details").as_object();
  return d.contains("field") ? std::string(d.at("field").as_string()) : "";
}

JsonResponse call(std::uint16_t port, const std::string& method, const std::string& path,
                  const std::optional<boost::json::value>& body, const std::string& token,
                  const std::string& extraHeaders) {
  std::string req =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extraHeaders;
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  std::string payload;
  if (body) {
    payload = boost::json::serialize(*body);
    req += "Content-Type: application/json\r\n";
  }
  req += "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
  JsonResponse out;
  auto r = rawRequest(port, req);
  if (!r) return out;
  out.status = r->status;
  boost::system::error_code ec;
  out.json = boost::json::parse(r->body, ec);
  if (ec) out.json = nullptr;
  out.raw = std::move(*r);
  return out;
}

}  // namespace atelier::test
