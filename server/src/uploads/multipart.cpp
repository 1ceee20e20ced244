#include "uploads/multipart.hpp"

#include "util/text.hpp"

namespace atelier::uploads {

namespace {

Error malformed(std::string what) {
  return Error::make(Errc::invalid_request, "malformed multipart body: " + std::move(what), "file");
}

// A header value's `; key=value` parameters (value a token or a quoted string). Calls
// `on(key, value)` for each; false on a malformed list.
template <class F>
bool forEachParam(std::string_view params, F&& on) {
  std::size_t i = 0;
  while (i < params.size()) {
    while (i < params.size() && (params[i] == ' ' || params[i] == '\t' || params[i] == ';'))
      ++i;
    if (i >= params.size()) break;
    const auto eq = params.find('=', i);
    if (eq == std::string_view::npos) return false;
    const std::string_view key = trim(params.substr(i, eq - i));
    if (key.empty()) return false;
    i = eq + 1;
    while (i < params.size() && (params[i] == ' ' || params[i] == '\t'))
      ++i;
    std::string value;
    if (i < params.size() && params[i] == '"') {
      ++i;
      bool closed = false;
      while (i < params.size()) {
        const char c = params[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < params.size()) {
          value += params[i++];
        } else {
          value += c;
        }
      }
      if (!closed) return false;
    } else {
      const auto end = params.find(';', i);
      value = std::string(trim(params.substr(i, end == std::string_view::npos ? end : end - i)));
      i = end == std::string_view::npos ? params.size() : end;
    }
    on(key, std::move(value));
  }
  return true;
}

// Fills name/filename/contentType from one part's header block (lines without the final
// blank line).
Result<void> readPartHeaders(std::string_view block, MultipartPart& part) {
  bool disposition = false;
  while (!block.empty()) {
    const auto eol = block.find("\r\n");
    const std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return malformed("a part header has no name");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Disposition")) {
      const auto semi = value.find(';');
      if (!iequals(trim(value.substr(0, semi)), "form-data")) {
        return malformed("a part is not form-data");
      }
      disposition = true;
      const bool ok =
          forEachParam(semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1),
                       [&](std::string_view key, std::string v) {
                         if (iequals(key, "name")) {
                           part.name = std::move(v);
                         } else if (iequals(key, "filename")) {
                           part.filename = std::move(v);
                         }
                       });
      if (!ok) return malformed("bad Content-Disposition parameters");
    } else if (iequals(name, "Content-Type")) {
      part.contentType = std::string(value);
    }
  }
  if (!disposition || part.name.empty()) return malformed("a part has no form-data name");
  return {};
}

}  // namespace

bool isMultipartFormData(std::string_view contentType) noexcept {
  const auto semi = contentType.find(';');
  return iequals(trim(contentType.substr(0, semi)), "multipart/form-data");
}

Result<std::string> multipartBoundary(std::string_view contentType) {
  if (!isMultipartFormData(contentType)) {
    return Error::make(Errc::invalid_request, "expected multipart/form-data", "file");
  }
  const auto semi = contentType.find(';');
  std::string boundary;
  const bool ok =
      semi != std::string_view::npos &&
      forEachParam(contentType.substr(semi + 1), [&](std::string_view k, std::string v) {
        if (iequals(k, "boundary")) boundary = std::move(v);
      });
  // RFC 2046: 1 to 70 characters, not ending in a space.
  if (!ok || boundary.empty() || boundary.size() > 70 || boundary.back() == ' ' ||
      boundary.find_first_of("\r\n") != std::string::npos) {
    return Error::make(Errc::invalid_request, "multipart/form-data without a valid boundary",
                       "file");
  }
  return boundary;
}

Result<std::vector<MultipartPart>> parseMultipart(std::string_view body, std::string_view boundary,
                                                  const MultipartLimits& limits) {
  if (boundary.empty()) return malformed("empty boundary");
  const std::string dash = "--" + std::string(boundary);
  const std::string delimiter = "\r\n" + dash;  // what ends a part's content

  // The first delimiter: at the very start, or after a preamble ending in CRLF.
  std::size_t pos = 0;
  if (body.substr(0, dash.size()) != dash) {
    const auto first = body.find(delimiter);
    if (first == std::string_view::npos) return malformed("no boundary delimiter");
    pos = first + 2;
  }
  pos += dash.size();

  std::vector<MultipartPart> parts;
  for (;;) {
    // After a delimiter: "--" closes the body; otherwise transport padding, then CRLF.
    if (body.substr(pos, 2) == "--") return parts;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
      ++pos;
    if (body.substr(pos, 2) != "\r\n") return malformed("bad delimiter line");
    pos += 2;
    if (parts.size() == limits.maxParts) return malformed("too many parts");

    MultipartPart part;
    // Headers end at the first blank line; a part may have none (then its CRLF comes first).
    std::size_t contentStart = 0;
    if (body.substr(pos, 2) == "\r\n") {
      contentStart = pos + 2;
    } else {
      const auto end = body.find("\r\n\r\n", pos);
      if (end == std::string_view::npos || end - pos > limits.maxHeaderBytes) {
        return malformed("part headers not terminated");
      }
      if (auto h = readPartHeaders(body.substr(pos, end - pos), part); !h) {
        return std::move(h).error();
      }
      contentStart = end + 4;
    }
    if (part.name.empty()) return malformed("a part has no form-data name");

    const auto next = body.find(delimiter, contentStart);
    if (next == std::string_view::npos) return malformed("no closing boundary");
    part.body = body.substr(contentStart, next - contentStart);
    parts.push_back(std::move(part));
    pos = next + delimiter.size();
  }
}

}  // namespace atelier::uploads
