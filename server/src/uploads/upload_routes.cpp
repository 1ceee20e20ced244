#include "uploads/upload_routes.hpp"

#include "http/json_body.hpp"
#include "uploads/multipart.hpp"
#include "util/crypto.hpp"

namespace atelier::uploads {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Request;
using http::Response;

namespace {

json::object uploadJson(const store::Upload& u, const UploadService& service) {
  return {{"upload_id", u.uploadId},
          {"url", service.urlOf(u)},
          {"mime_type", u.mimeType},
          {"size_bytes", u.sizeBytes},
          {"created_at", formatRfc3339(u.createdAt)}};
}

// The file's bytes: the part named "file" of a multipart body, or the whole body.
Result<std::string_view> fileBytes(const Request& req) {
  const auto type = req.header("Content-Type").value_or("");
  if (!isMultipartFormData(type)) return std::string_view(req.body);
  auto boundary = multipartBoundary(type);
  if (!boundary) return std::move(boundary).error();
  auto parts = parseMultipart(req.body, *boundary);
  if (!parts) return std::move(parts).error();
  for (const auto& p : *parts) {
    if (p.name == "file") return p.body;
  }
  return Error::make(Errc::invalid_request, "no part named \"file\" in the form", "file");
}

}  // namespace

void registerUploadRoutes(http::Router& router, UploadService& service, std::int64_t maxUploadBytes,
                          http::Middleware requireUser) {
  http::RouteOptions authed;
  authed.middleware.push_back(std::move(requireUser));
  http::RouteOptions upload = authed;
  upload.maxBodyBytes = static_cast<std::size_t>(maxUploadBytes) + kMultipartOverhead;

  router.add(
      "POST", "/api/uploads",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        auto bytes = fileBytes(req);
        if (!bytes) co_return std::move(bytes).error();
        const std::string_view file = *bytes;
        auto created = co_await service.create(req.userId, file);
        if (!created) co_return std::move(created).error();
        co_return http::jsonResponse(201, uploadJson(*created, service));
      },
      upload);

  router.add(
      "GET", "/api/uploads/:uploadId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string uploadId(req.param("uploadId"));
        if (!isUuid(uploadId)) co_return uploadNotFound();
        auto found = co_await service.find(req.userId, uploadId);
        if (!found) co_return std::move(found).error();
        co_return http::jsonResponse(200, uploadJson(*found, service));
      },
      authed);

  router.add(
      "GET", "/api/uploads/:uploadId/content",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string uploadId(req.param("uploadId"));
        if (!isUuid(uploadId)) co_return uploadNotFound();
        auto content = co_await service.content(req.userId, uploadId);
        if (!content) co_return std::move(content).error();
        const std::string etag = "\"" + content->upload.sha256 + "\"";
        Response r;
        if (req.notModifiedSince(etag)) {
          r = Response::empty(304);
        } else {
          r = Response::text(200, std::move(content->bytes), content->upload.mimeType);
        }
        r.setHeader("ETag", etag);
        r.setHeader("Cache-Control", "private, max-age=31536000, immutable");
        r.setHeader("Content-Disposition", "inline");
        co_return r;
      },
      authed);

  router.add(
      "DELETE", "/api/uploads/:uploadId",
      [&service](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string uploadId(req.param("uploadId"));
        if (!isUuid(uploadId)) co_return uploadNotFound();
        auto removed = co_await service.remove(req.userId, uploadId);
        if (!removed) co_return std::move(removed).error();
        co_return Response::empty(204);
      },
      authed);
}

}  // namespace atelier::uploads
