// The web UI at "/": the built files of web/ (see web/static_site.hpp), with index.html for
// every client-side route; a short page saying how to build them when they are missing.
#pragma once

#include <memory>

#include "http/router.hpp"
#include "web/static_site.hpp"

namespace atelier::app {

// The policy of every page: scripts, styles, fonts and connections from our own origin only;
// images also from blob: URLs (previews and attachments the UI fetched with its token).
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// `site` null: the placeholder page at "/" and nothing else.
void registerWebRoutes(http::Router& router, const std::shared_ptr<const web::StaticSite>& site);

}  // namespace atelier::app
