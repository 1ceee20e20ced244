// Whose request the store is serving on this thread. On PostgreSQL every transaction carries
// it (migration 009): the server's role sees that user's rows and no other's, so a statement
// that forgot its "WHERE user_id = …" still cannot reach another user's data.
//
// Store methods that take a user id act as that user themselves, and the few that are not
// done for one user (sign-in by e-mail, refresh-token rotation, the lease sweep, purge, the
// admin commands) act as the service. The methods that take only a chat id act as whoever
// the caller named with an ActingAs on the calling thread; with nobody named, no user's rows
// are visible (the failure is "not found", never another user's data).
#pragma once

#include <string>
#include <string_view>

namespace atelier::store {

struct Acting {
  std::string userId;    // a UUID, or empty
  bool service = false;  // work not done for one user: every row
  bool operator==(const Acting&) const = default;
};

// This thread's current scope.
const Acting& acting() noexcept;

// Sets this thread's scope until destroyed (then restores the one before). Nests.
class [[nodiscard]] ActingAs {
 public:
  explicit ActingAs(std::string_view userId);
  static ActingAs service();
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

 private:
  explicit ActingAs(Acting next);
  Acting previous_;
};

// What opens a PostgreSQL transaction as `who` (one simple-protocol round trip): BEGIN, the
// role that cannot bypass row-level security (when `appRole`), and the settings the policies
// of migration 009 read. A user id that is not a UUID counts as nobody.
std::string postgresScopePrelude(const Acting& who, bool appRole);
// The settings alone, to change whom a transaction already open acts for.
std::string postgresScopeSettings(const Acting& who);

}  // namespace atelier::store
