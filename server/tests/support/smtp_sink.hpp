// A real (minimal) SMTP server on 127.0.0.1 that keeps every message it receives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/tcp_listener.hpp"

namespace atelier::test {

struct ReceivedMail {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // headers + body, dot-unstuffed
};

class SmtpSink {
 public:
  SmtpSink();
  std::uint16_t port() const { return listener_->port(); }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port()); }
  std::size_t count(const std::string& to) const;
  // The 6-digit code in the n-th (0-based) message to `to`, waiting up to `timeout`.
  std::optional<std::string> code(const std::string& to, std::size_t n,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<ReceivedMail> all() const;

 private:
  void serve(int fd);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMail> mails_;
  std::unique_ptr<TcpListener> listener_;  // last: stopped before the members it uses
};

}  // namespace atelier::test
