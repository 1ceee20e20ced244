// The /api/auth routes, GET /api/usage, and the bearer-token middleware every
// authenticated route uses.
#pragma once

#include "auth/auth_service.hpp"
#include "http/router.hpp"

namespace atelier::auth {

// Sets Request::userId from a valid "Authorization: Bearer …", else answers 401
// `unauthorized` (with WWW-Authenticate: Bearer). REQUIRES: `service` outlives the router.
http::Middleware requireUser(AuthService& service);
// The token alone (signature, expiry), not the account: for a route that looks its user up
// in the database work it does anyway and answers 401 from there when the account is gone
// or disabled — the message routes (MessageEngine::send), one database hop fewer before the
// first chunk. A route given this middleware MUST check the account before it acts.
http::Middleware requireToken(AuthService& service);

void registerAuthRoutes(http::Router& router, AuthService& service);

}  // namespace atelier::auth
