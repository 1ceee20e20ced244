#include "store/sql_connection.hpp"

namespace atelier::store {

namespace {

// Finds the argument of a macro call starting at `open` (the '('), handling nesting.
std::size_t closingParen(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

bool startsWith(std::string_view s, std::size_t pos, std::string_view prefix) {
  return s.substr(pos, prefix.size()) == prefix;
}

}  // namespace

std::string expandSql(std::string_view sql, Dialect d) {
  const bool pg = d == Dialect::postgres;
  std::string out;
  out.reserve(sql.size() + 32);
  for (std::size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '@') {
      struct Macro {
        std::string_view name;
        bool call;
      };
      static constexpr Macro kMacros[] = {
          {"@users", false},    {"@true", false},  {"@false", false}, {"@lockrow", false},
          {"@greatest", false}, {"@ts(", true},    {"@tsp(", true},   {"@json(", true},
          {"@text(", true},     {"@idlist(", true}};
      bool done = false;
      for (const auto& m : kMacros) {
        if (!startsWith(sql, i, m.name)) continue;
        if (!m.call) {
          if (m.name == "@users") out += pg ? "public.users" : "users";
          if (m.name == "@true") out += pg ? "true" : "1";
          if (m.name == "@false") out += pg ? "false" : "0";
          if (m.name == "@lockrow") out += pg ? " FOR NO KEY UPDATE" : "";
          if (m.name == "@greatest") out += pg ? "GREATEST" : "MAX";
          i += m.name.size();
        } else {
          const std::size_t open = i + m.name.size() - 1;
          const std::size_t close = closingParen(sql, open);
          const std::string arg = expandSql(sql.substr(open + 1, close - open - 1), d);
          if (m.name == "@ts(")
            out += pg ? "(extract(epoch from " + arg + ") * 1000)::bigint" : arg;
          if (m.name == "@tsp(") out += pg ? "to_timestamp(" + arg + "::bigint / 1000.0)" : arg;
          if (m.name == "@json(") out += pg ? arg + "::jsonb" : arg;
          if (m.name == "@text(") out += pg ? arg + "::text" : arg;
          // The ids in a JSON array parameter, as a subquery (one statement for any count).
          if (m.name == "@idlist(") {
            out += pg ? "(SELECT jsonb_array_elements_text(" + arg + "::jsonb)::uuid)"
                      : "(SELECT value FROM json_each(" + arg + "))";
          }
          i = close + 1;
        }
        done = true;
        break;
      }
      if (done) continue;
    }
    if (c == '$' && !pg && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out += '?';
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace atelier::store
