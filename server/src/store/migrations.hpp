// SQL migrations, embedded into the binary at build time from server/migrations/<dialect>/.
#pragma once

#include <string_view>
#include <vector>

namespace atelier::store {

struct EmbeddedMigration {
  std::string_view dialect;  // "sqlite" or "postgres"
  std::string_view name;     // e.g. "002_create_chat_system_tables"
  std::string_view sql;
};

// Every migration of every dialect, sorted by dialect then name.
const std::vector<EmbeddedMigration>& embeddedMigrations();

}  // namespace atelier::store
