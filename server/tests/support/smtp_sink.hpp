// A real (minimal) SMTP server on 127.0.0.1 that keeps every message it receives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace atelier::test {

struct ReceivedMail {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // headers + body, dot-unstuffed
};

class SmtpSink {
 public:
  SmtpSink();
  ~SmtpSink();
  std::uint16_t port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::size_t count(const std::string& to) const;
  // The 6-digit code in the n-th (0-based) message to `to`, waiting up to `timeout`.
  std::optional<std::string> code(const std::string& to, std::size_t n,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<ReceivedMail> all() const;

 private:
  void acceptLoop();
  void serve(int fd);
  int listenFd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMail> mails_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

}  // namespace atelier::test
