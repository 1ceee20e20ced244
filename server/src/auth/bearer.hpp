// The token of an `Authorization: Bearer <token>` header value (RFC 6750): the scheme in any
// case, spaces around the token ignored. Empty when the value is not of that form.
#pragma once

#include <string_view>

namespace atelier::auth {

std::string_view bearerToken(std::string_view authorization);

}  // namespace atelier::auth
