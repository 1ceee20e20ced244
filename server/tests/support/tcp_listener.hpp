// A blocking TCP listener on 127.0.0.1 for test servers: one thread per connection, every
// connection shut down and joined on destruction.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace atelier::test {

class TcpListener {
 public:
  // `serve(fd)` runs on its own thread per connection and must close `fd` when done.
  explicit TcpListener(std::function<void(int fd)> serve);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  std::uint16_t port() const { return port_; }
  bool stopping() const { return stopping_.load(); }

 private:
  void acceptLoop();
  std::function<void(int)> serve_;
  int listenFd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

// Writes all of `bytes` to a socket; false once the peer is gone.
bool sendAll(int fd, const std::string& bytes);

}  // namespace atelier::test
