// libFuzzer target for the configuration parsers: a `.env` file (config::parseDotenv), then
// every variable's parser (config::loadConfig: durations, sizes, URLs, origins, booleans…).
//
// Input: the text of a .env file. Checks that nothing crashes and that no secret it sets
// (JWT_SECRET, the provider keys, the S3 secret) shows in the start-up summary or in an
// error message, both of which go to the log: what is said must be the same when every
// letter and digit of the secret is changed (it may depend on the secret's length only).
//
//   ./dev fuzz config 60
//
// The seeds in corpus/config also run on every `./dev test` (config_tests).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace {

// What the server would log having read `env`.
std::string said(const atelier::config::EnvMap& env) {
  auto config = atelier::config::loadConfig(env);
  return config.ok() ? atelier::config::describe(*config) : config.error().message;
}

// Every letter and digit of `s` replaced by another of its kind.
std::string rotated(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>('a' + (c - 'a' + 7) % 26);
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>('A' + (c - 'A' + 7) % 26);
    } else if (c >= '0' && c <= '9') {
      c = static_cast<char>('0' + (c - '0' + 3) % 10);
    }
  }
  return s;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = atelier::config::parseDotenv(text, "fuzz.env");
  if (!env.ok()) return 0;
  const std::string original = said(*env);
  for (const char* secret :
       {"JWT_SECRET", "GEMINI_API_KEY", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY"}) {
    auto it = env->find(secret);
    if (it == env->end()) continue;
    auto changed = *env;
    changed[secret] = rotated(it->second);
    if (said(changed) != original) std::abort();
  }
  return 0;
}
