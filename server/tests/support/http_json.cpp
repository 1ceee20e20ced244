#include "support/http_json.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

namespace atelier::test {

std::string signUpVerified(std::uint16_t port, SmtpSink& sink, const std::string& email,
                           const std::string& password) {
  EXPECT_EQ(call(port, "POST", "/api/auth/register",
                 boost::json::value{{"email", email}, {"password", password}})
                .status,
            201);
  auto code = sink.code(email, 0);
  EXPECT_TRUE(code);
  auto v = call(port, "POST", "/api/auth/verify",
                boost::json::value{{"email", email}, {"code", code.value_or("")}});
  EXPECT_EQ(v.status, 200);
  return v.status == 200 ? std::string(v.json.at("access_token").as_string()) : "";
}

std::string JsonResponse::errorCode() const {
  if (!json.is_object() || !json.as_object().contains("error")) return "";
  return std::string(json.at("error").at("code").as_string());
}

std::string JsonResponse::errorField() const {
  if (!json.is_object() || !json.as_object().contains("error")) return "";
  const auto& e = json.at("error").as_object();
  if (!e.contains("details")) return "";
  const auto& d = e.at("details").as_object();
  return d.contains("field") ? std::string(d.at("field").as_string()) : "";
}

JsonResponse call(std::uint16_t port, const std::string& method, const std::string& path,
                  const std::optional<boost::json::value>& body, const std::string& token,
                  const std::string& extraHeaders) {
  std::string req =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extraHeaders;
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  std::string payload;
  if (body) {
    payload = boost::json::serialize(*body);
    req += "Content-Type: application/json\r\n";
  }
  req += "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
  JsonResponse out;
  auto r = rawRequest(port, req);
  if (!r) return out;
  out.status = r->status;
  boost::system::error_code ec;
  out.json = boost::json::parse(r->body, ec);
  if (ec) out.json = nullptr;
  out.raw = std::move(*r);
  return out;
}

CreateRace raceChatCreates(int n, const std::function<JsonResponse(int i)>& create) {
  std::barrier sync(n);
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      sync.arrive_and_wait();
      const auto r = create(i);
      if (r.status == 201) ++created;
      if (r.status == 403 && r.errorCode() == "chat_limit_reached") ++refused;
    });
  }
  for (auto& t : threads)
    t.join();
  return {created.load(), refused.load()};
}

}  // namespace atelier::test
