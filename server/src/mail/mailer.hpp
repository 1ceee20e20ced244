// Outgoing e-mail. send() queues the message and returns at once; delivery happens on a
// worker thread, and a failure is logged (with the recipient, never the body), never
// surfaced to the request that caused it.
#pragma once

#include <memory>
#include <string>

#include "util/result.hpp"

namespace atelier {
class WorkerPool;
}

namespace atelier::mail {

struct Email {
  std::string to;
  std::string subject;
  std::string body;  // plain text, UTF-8
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Queues the message. False when the queue is full (the message is dropped and logged).
  virtual bool send(Email email) = 0;
};

// Development: writes the whole message (codes included) to the log.
class LogMailer final : public Mailer {
 public:
  bool send(Email email) override;
};

struct SmtpOptions {
  std::string url;   // smtp://user:pass@host:port or smtps://…
  std::string from;  // "Name <addr>" or "addr"
  long connectTimeoutMs = 10'000;
  long totalTimeoutMs = 30'000;
};

// SMTP over libcurl (STARTTLS when the server offers it, smtps:// for implicit TLS, AUTH
// from the URL's user and password). Sends on `pool`'s threads.
class SmtpMailer final : public Mailer {
 public:
  SmtpMailer(SmtpOptions options, WorkerPool& pool);
  bool send(Email email) override;
  // Sends synchronously on the calling thread (what the pool runs; tests call it too).
  Result<void> deliver(const Email& email) const;

 private:
  SmtpOptions options_;
  WorkerPool& pool_;
};

// The RFC 5322 message text (headers + CRLF body) for `email` from `from`.
std::string formatMessage(const Email& email, const std::string& from, const std::string& messageId,
                          const std::string& date);

}  // namespace atelier::mail
