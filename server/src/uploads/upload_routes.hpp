// /api/uploads: POST (multipart/form-data or the raw image), GET metadata, GET content,
// DELETE. Every route is the owner's only; another user's upload is not found.
#pragma once

#include "http/router.hpp"
#include "uploads/upload_service.hpp"

namespace atelier::uploads {

// multipart framing allowed on top of MAX_UPLOAD_BYTES before a body is refused unread.
inline constexpr std::size_t kMultipartOverhead = std::size_t{64} * 1024;

void registerUploadRoutes(http::Router& router, UploadService& service, std::int64_t maxUploadBytes,
                          http::Middleware requireUser);

}  // namespace atelier::uploads
