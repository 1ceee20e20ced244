// JSON shapes of the contract's Chat and Message objects.
#pragma once

#include <boost/json/object.hpp>

#include "store/types.hpp"

namespace atelier::chat {

boost::json::object chatJson(const store::Chat& c);
boost::json::object messageJson(const store::Message& m);

}  // namespace atelier::chat
