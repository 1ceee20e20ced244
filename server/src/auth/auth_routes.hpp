// The /api/auth routes, GET /api/usage, and the bearer-token middleware every
// authenticated route uses.
#pragma once

#include "auth/auth_service.hpp"
#include "http/router.hpp"

namespace atelier::auth {

// Sets Request::userId from a valid "Authorization: Bearer …", else answers 401
// `unauthorized` (with WWW-Authenticate: Bearer). REQUIRES: `service` outlives the router.
http::Middleware requireUser(AuthService& service);

void registerAuthRoutes(http::Router& router, AuthService& service);

}  // namespace atelier::auth
