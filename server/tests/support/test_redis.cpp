#include "support/test_redis.hpp"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

namespace atelier::test {
namespace {

using namespace std::chrono_literals;

// A reply to `argv` from Redis at `port`, as text: status and string replies as they are,
// integers in decimal, anything else (or no answer) empty.
std::string ask(std::uint16_t port, const std::string& password,
                const std::vector<std::string>& args) {
  const timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr) return {};
  std::string out;
  auto run = [&](const std::vector<std::string>& a) -> redisReply* {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& s : a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data()));
  };
  if (c->err == 0) {
    bool authed = true;
    if (!password.empty()) {
      redisReply* r = run({"AUTH", password});
      authed = r != nullptr && r->type == REDIS_REPLY_STATUS;
      if (r != nullptr) freeReplyObject(r);
    }
    if (redisReply* r = authed ? run(args) : nullptr; r != nullptr) {
      if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) {
        out.assign(r->str, r->len);
      } else if (r->type == REDIS_REPLY_INTEGER) {
        out = std::to_string(r->integer);
      }
      freeReplyObject(r);
    }
  }
  redisFree(c);
  return out;
}

}  // namespace

TestRedis::TestRedis(std::string password) : password_(std::move(password)) {
  if (!std::filesystem::exists(kBinary)) return;
  std::string pattern = (std::filesystem::temp_directory_path() / "atelier-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = freePort();
  start();
}

TestRedis::~TestRedis() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string TestRedis::url(int database) const {
  return "redis://" + (password_.empty() ? "" : ":" + password_ + "@") +
         "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(database);
}

void TestRedis::start() {
  std::vector<std::string> args{"--port",       std::to_string(port_),
                                "--bind",       "127.0.0.1",
                                "--save",       "",
                                "--appendonly", "no",
                                "--dir",        dir_,
                                "--daemonize",  "no"};
  if (!password_.empty()) {
    args.emplace_back("--requirepass");
    args.push_back(password_);
  }
  process_ = std::make_unique<ServerProcess>(std::move(args), std::map<std::string, std::string>{},
                                             dir_, kBinary, "redis.log");
  for (int i = 0; i < 200; ++i) {
    if (command("PING") == "PONG") return;
    if (process_->waitExit(25ms)) break;
  }
  throw std::runtime_error("redis-server did not start: " + process_->output());
}

void TestRedis::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->waitExit(10s);
  process_.reset();
}

std::string TestRedis::command(const std::string& a, const std::string& b) const {
  std::vector<std::string> args{a};
  if (!b.empty()) args.push_back(b);
  return ask(port_, password_, args);
}

}  // namespace atelier::test
