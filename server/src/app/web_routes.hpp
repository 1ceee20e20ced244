// The web UI at "/".
#pragma once

#include "http/router.hpp"

namespace atelier::app {

void registerWebRoutes(http::Router& router);

}  // namespace atelier::app
