#include "store/acting.hpp"

#include <utility>

#include "util/crypto.hpp"

namespace atelier::store {

namespace {
thread_local Acting current;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
}  // namespace

const Acting& acting() noexcept {
  return current;
}

ActingAs::ActingAs(Acting next) : previous_(std::exchange(current, std::move(next))) {}

ActingAs::ActingAs(std::string_view userId) : ActingAs(Acting{std::string(userId), false}) {}

ActingAs ActingAs::service() {
  return ActingAs(Acting{{}, true});
}

ActingAs::~ActingAs() {
  current = std::move(previous_);
}

std::string postgresScopePrelude(const Acting& who, bool appRole) {
  // Literals, not parameters: a simple query carries BEGIN in the same round trip. The id is
  // a checked UUID, so it cannot carry a quote.
  std::string s = "BEGIN; ";
  if (appRole) s += "SET LOCAL ROLE atelier_app; ";
  return s + postgresScopeSettings(who);
}

std::string postgresScopeSettings(const Acting& who) {
  std::string s = "SET LOCAL atelier.user_id = '";
  if (isUuid(who.userId)) s += who.userId;
  s += who.service ? "'; SET LOCAL atelier.service = 'on'" : "'; SET LOCAL atelier.service = 'off'";
  return s;
}

}  // namespace atelier::store
