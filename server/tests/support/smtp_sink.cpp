#include "support/smtp_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

namespace atelier::test {

namespace {
bool sendLine(int fd, const std::string& line) {
  return sendAll(fd, line + "\r\n");
}
std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string angle(const std::string& arg) {
  const auto lt = arg.find('<');
  const auto gt = arg.find('>');
  if (lt == std::string::npos || gt == std::string::npos) return arg;
  return arg.substr(lt + 1, gt - lt - 1);
}
}  // namespace

SmtpSink::SmtpSink() : listener_(std::make_unique<TcpListener>([this](int fd) { serve(fd); })) {}

void SmtpSink::serve(int fd) {
  std::string buf;
  auto readLine = [&](std::string& line) {
    for (;;) {
      const auto nl = buf.find("\r\n");
      if (nl != std::string::npos) {
        line = buf.substr(0, nl);
        buf.erase(0, nl + 2);
        return true;
      }
      char tmp[4096];
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  };
  sendLine(fd, "220 atelier-test-sink ESMTP");
  ReceivedMail mail;
  std::string line;
  while (readLine(line)) {
    const std::string cmd = upper(line);
    if (cmd.rfind("EHLO", 0) == 0) {
      sendLine(fd, "250-atelier-test-sink");
      sendLine(fd, "250-8BITMIME");
      sendLine(fd, "250 SMTPUTF8");
    } else if (cmd.rfind("HELO", 0) == 0) {
      sendLine(fd, "250 atelier-test-sink");
    } else if (cmd.rfind("MAIL FROM:", 0) == 0) {
      mail = ReceivedMail{};
      mail.from = angle(line.substr(10));
      sendLine(fd, "250 OK");
    } else if (cmd.rfind("RCPT TO:", 0) == 0) {
      mail.to.push_back(angle(line.substr(8)));
      sendLine(fd, "250 OK");
    } else if (cmd == "DATA") {
      sendLine(fd, "354 end with <CRLF>.<CRLF>");
      std::string data;
      while (readLine(line) && line != ".") {
        if (line.rfind("..", 0) == 0) line.erase(0, 1);
        data += line + "\r\n";
      }
      mail.data = std::move(data);
      {
        std::lock_guard lock(mu_);
        mails_.push_back(mail);
      }
      cv_.notify_all();
      sendLine(fd, "250 OK queued");
    } else if (cmd == "QUIT") {
      sendLine(fd, "221 bye");
      break;
    } else if (cmd == "RSET" || cmd == "NOOP") {
      sendLine(fd, "250 OK");
    } else {
      sendLine(fd, "502 not implemented");
    }
  }
  ::close(fd);
}

std::size_t SmtpSink::count(const std::string& to) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& m : mails_) {
    for (const auto& r : m.to)
      n += r == to;
  }
  return n;
}

std::optional<std::string> SmtpSink::code(const std::string& to, std::size_t n,
                                          std::chrono::milliseconds timeout) {
  static const std::regex sixDigits(R"((^|[^0-9])([0-9]{6})([^0-9]|$))");
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t seen = 0;
    for (const auto& m : mails_) {
      if (std::find(m.to.begin(), m.to.end(), to) == m.to.end()) continue;
      if (seen++ != n) continue;
      const auto bodyStart = m.data.find("\r\n\r\n");
      const std::string body = m.data.substr(bodyStart == std::string::npos ? 0 : bodyStart);
      std::smatch match;
      if (std::regex_search(body, match, sixDigits)) return match[2].str();
      return std::nullopt;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

std::vector<ReceivedMail> SmtpSink::all() const {
  std::lock_guard lock(mu_);
  return mails_;
}

}  // namespace atelier::test
