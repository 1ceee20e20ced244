// multipart/form-data (RFC 7578 over RFC 2046): the boundary from a Content-Type header and
// the parts of a complete body. Small and strict; the body is already bounded by the route's
// size limit, and the parser never copies a part's content (views into the body).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace atelier::uploads {

struct MultipartPart {
  std::string name;         // Content-Disposition's name
  std::string filename;     // its filename, when given (informative only)
  std::string contentType;  // the part's Content-Type, when given (informative only)
  std::string_view body;    // a view into the parsed body
};

struct MultipartLimits {
  std::size_t maxParts = 16;
  std::size_t maxHeaderBytes = 8192;  // the header block of one part
};

// The boundary parameter of a multipart/form-data Content-Type; Errc::invalid_request when
// the type is something else or the boundary is missing or malformed (1 to 70 characters).
Result<std::string> multipartBoundary(std::string_view contentType);

// Whether a Content-Type names multipart/form-data (parameters ignored).
bool isMultipartFormData(std::string_view contentType) noexcept;

// Every part of `body`, in order. Errc::invalid_request (field "file") on malformed framing,
// a missing closing delimiter, a part without a form-data name, or too many parts.
Result<std::vector<MultipartPart>> parseMultipart(std::string_view body, std::string_view boundary,
                                                  const MultipartLimits& limits = {});

}  // namespace atelier::uploads
