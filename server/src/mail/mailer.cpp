#include "mail/mailer.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <boost/url/parse.hpp>
#include <chrono>
#include <cstring>
#include <ctime>

#include "util/crypto.hpp"
#include "util/worker_pool.hpp"

namespace atelier::mail {

namespace {

// The address inside "Name <addr>", or the whole text.
std::string bareAddress(const std::string& from) {
  const auto lt = from.find('<');
  const auto gt = from.find('>', lt == std::string::npos ? 0 : lt);
  if (lt != std::string::npos && gt != std::string::npos) return from.substr(lt + 1, gt - lt - 1);
  return from;
}

std::string rfc2822Date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// Non-ASCII subjects as RFC 2047 encoded words.
std::string encodeHeader(const std::string& text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return "=?UTF-8?B?" + base64Encode(text) + "?=";
  }
  return text;
}

// No CR/LF may reach a header: they would let data add headers.
std::string oneLine(std::string s) {
  for (auto& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

struct Upload {
  const std::string* data;
  std::size_t offset = 0;
};

size_t readCallback(char* buffer, size_t size, size_t n, void* userp) {
  auto* up = static_cast<Upload*>(userp);
  const std::size_t room = size * n;
  const std::size_t left = up->data->size() - up->offset;
  const std::size_t len = std::min(room, left);
  std::memcpy(buffer, up->data->data() + up->offset, len);
  up->offset += len;
  return len;
}

}  // namespace

std::string formatMessage(const Email& email, const std::string& from, const std::string& messageId,
                          const std::string& date) {
  std::string body;
  // CRLF line ends; a line starting with '.' is escaped by libcurl (dot-stuffing).
  for (char c : email.body) {
    if (c == '\n') {
      body += "\r\n";
    } else if (c != '\r') {
      body += c;
    }
  }
  return "Date: " + date + "\r\nFrom: " + oneLine(from) + "\r\nTo: <" + oneLine(email.to) +
         ">\r\nSubject: " + encodeHeader(oneLine(email.subject)) + "\r\nMessage-ID: <" + messageId +
         ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
         "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
         body + "\r\n";
}

bool LogMailer::send(Email email) {
  spdlog::warn("e-mail (SMTP_URL unset, development only) to {}: {}\n{}", email.to, email.subject,
               email.body);
  return true;
}

SmtpMailer::SmtpMailer(SmtpOptions options, WorkerPool& pool)
    : options_(std::move(options)), pool_(pool) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool SmtpMailer::send(Email email) {
  const bool queued = pool_.trySubmit([this, email = std::move(email)] {
    auto r = deliver(email);
    if (!r) spdlog::error("e-mail to {} not sent: {}", email.to, r.error().message);
  });
  if (!queued) spdlog::error("e-mail to {} dropped: the mail queue is full", email.to);
  return queued;
}

Result<void> SmtpMailer::deliver(const Email& email) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Error::make(Errc::internal, "cannot start an SMTP session");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> guard(curl, &curl_easy_cleanup);
  const std::string from = bareAddress(options_.from);
  const std::string host = [&] {
    auto u = boost::urls::parse_uri(options_.url);
    return u ? std::string(u->host()) : std::string("mail-server");
  }();
  const std::string messageId = newUuidV7() + "@" + (host.empty() ? "atelier" : host);
  const std::string message = formatMessage(email, options_.from, messageId, rfc2822Date());
  Upload upload{&message};
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + email.to + ">").c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcptGuard(rcpt, &curl_slist_free_all);
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());  // user:pass in the URL become AUTH
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(CURLUSESSL_TRY));  // STARTTLS when offered
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, &readCallback);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.totalTimeoutMs);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) return Error::make(Errc::upstream_error, curl_easy_strerror(rc));
  return {};
}

}  // namespace atelier::mail
