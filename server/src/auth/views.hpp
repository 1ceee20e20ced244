// JSON shapes of the contract's User, Usage and TokenPair objects.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>

#include "auth/auth_service.hpp"
#include "store/types.hpp"

namespace atelier::auth {

boost::json::object userJson(const store::User& u);
boost::json::object usageJson(const store::Usage& u, std::chrono::seconds resetInterval);
boost::json::object tokenPairJson(const TokenPair& p);

}  // namespace atelier::auth
