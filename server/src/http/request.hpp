// The request as route handlers and middleware see it: plain values, no Beast types.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atelier::http {

struct Route;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header with this name.
std::optional<std::string_view> findHeader(const HeaderList& headers, std::string_view name);

struct Request {
  std::string method;  // upper-case token, e.g. "GET"
  std::string target;  // as received, e.g. "/api/chat?limit=5"
  std::string path;    // target without the query, percent-decoding NOT applied
  std::string query;   // after '?', without it
  HeaderList headers;
  std::string body;

  std::string peerAddress;    // the TCP peer
  std::string clientAddress;  // peer, or X-Forwarded-For's client with TRUST_PROXY
  std::string requestId;
  std::chrono::steady_clock::time_point received;

  const Route* route = nullptr;  // set once matched; null for 404/405/preflight
  std::string allowedMethods;    // when route is null: the methods this path serves (405)
  std::vector<std::pair<std::string, std::string>> params;  // path parameters
  std::string userId;                                       // set by the authentication middleware

  std::optional<std::string_view> header(std::string_view name) const {
    return findHeader(headers, name);
  }
  // Path parameter by name ("" when absent).
  std::string_view param(std::string_view name) const;
  // First query parameter by name, percent-decoded; nullopt when absent.
  std::optional<std::string> queryParam(std::string_view name) const;
  // If-None-Match names `etag` (a quoted entity tag), or is "*": the client's copy is current.
  bool notModifiedSince(std::string_view etag) const;
  // Accept-Encoding lists `coding` (e.g. "gzip") without q=0.
  bool acceptsEncoding(std::string_view coding) const;
};

}  // namespace atelier::http
