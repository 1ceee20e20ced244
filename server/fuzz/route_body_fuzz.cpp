// libFuzzer target for the JSON bodies of every route that takes one (auth/bodies.cpp,
// chat/bodies.cpp, over http/json_body.cpp and Boost.JSON).
//
// Input: a request body, given to every decoder. Checks that none crashes, reads outside the
// input or recurses without bound; that every refusal has the route's error code, a message
// and (when it names one) a field of that route; and that whatever is accepted is what the
// routes promise the services: valid UTF-8 without NUL, within its length limits, e-mails
// normalized, ids UUIDs, the message trimmed and non-empty, at most 4 attachments.
//
//   ./dev fuzz route_body 60
//
// The seeds in corpus/route_body also run on every `./dev test` (chat_tests).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

#include "auth/bodies.hpp"
#include "chat/bodies.hpp"
#include "http/json_body.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

namespace {

using atelier::Errc;

constexpr std::size_t kMaxMessageChars = 16000;  // MAX_MESSAGE_CHARS' default

void require(bool ok) {
  if (!ok) std::abort();
}

// Text a service may store or compare: valid UTF-8, no NUL.
void clean(std::string_view s) {
  require(atelier::validUtf8(s));
  require(s.find('\0') == std::string_view::npos);
}

// A refusal: one of `codes`, a message, and no field or one of `fields` (the whole body's
// errors name none).
template <class T>
bool refused(const atelier::Result<T>& r, std::initializer_list<Errc> codes,
             std::initializer_list<std::string_view> fields) {
  if (r.ok()) return false;
  const auto& e = r.error();
  require(std::find(codes.begin(), codes.end(), e.code) != codes.end());
  require(!e.message.empty());
  require(e.field.empty() || std::find(fields.begin(), fields.end(), e.field) != fields.end());
  return true;
}

void email(std::string_view e) {
  clean(e);
  require(!e.empty() && e.size() <= atelier::auth::kMaxEmail);
  require(std::count(e.begin(), e.end(), '@') == 1);
  require(std::none_of(e.begin(), e.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  require(atelier::trim(e) == e);
}

void password(std::string_view p) {
  clean(p);
  const auto n = atelier::http::utf8Length(p);
  require(n >= 8 && n <= 128);
}

void authBodies(std::string_view body) {
  using namespace atelier::auth;
  if (auto r = decodeRegister(body);
      !refused(r, {Errc::invalid_request}, {"email", "password", "display_name"})) {
    email(r->email);
    password(r->password);
    clean(r->displayName);
    require(atelier::http::utf8Length(r->displayName) <= kMaxDisplayName);
  }
  if (auto r = decodeVerify(body); !refused(r, {Errc::invalid_request}, {"email", "code"})) {
    email(r->email);
    clean(r->code);
  }
  if (auto r = decodeOtp(body); !refused(r, {Errc::invalid_request}, {"email", "purpose"})) {
    email(r->email);
  }
  if (auto r = decodeLogin(body);
      !refused(r, {Errc::invalid_request, Errc::invalid_credentials}, {"email", "password"})) {
    email(r->email);
    clean(r->password);
  }
  if (auto r = decodeRefreshToken(body); !refused(r, {Errc::invalid_request}, {"refresh_token"})) {
    clean(*r);
  }
  if (auto r = decodeReset(body);
      !refused(r, {Errc::invalid_request}, {"email", "code", "new_password"})) {
    email(r->email);
    clean(r->code);
    password(r->newPassword);
  }
}

void chatBodies(std::string_view body) {
  using namespace atelier::chat;
  auto title = [](std::string_view t) {
    clean(t);
    require(atelier::http::utf8Length(t) <= kMaxTitleChars);
  };
  if (auto r = decodeCreateChat(body); !refused(r, {Errc::invalid_request}, {"title"})) {
    title(r->title);
  }
  if (auto r = decodePatchChat(body);
      !refused(r, {Errc::invalid_request}, {"title", "is_active", "current_message_id"})) {
    if (r->patch.title) title(*r->patch.title);
    require(r->patch.title || r->patch.isActive || r->currentMessageId);
    require(!r->currentMessageId || atelier::isUuid(*r->currentMessageId));
  }
  if (auto r = decodeMessage(body, kMaxMessageChars);
      !refused(r, {Errc::invalid_request, Errc::invalid_attachment},
               {"message", "attachments", "parent_message_id"})) {
    clean(r->message);
    require(!r->message.empty() && atelier::trim(r->message, atelier::kWhiteSpace) == r->message);
    require(atelier::http::utf8Length(r->message) <= kMaxMessageChars);
    require(r->attachmentUrls.size() <= kMaxAttachments);
    for (const auto& url : r->attachmentUrls) {
      clean(url);
      require(!url.empty() && url.size() <= kMaxAttachmentUrl);
    }
    require(!r->parentMessageId || r->parentMessageId->empty() ||
            atelier::isUuid(*r->parentMessageId));
  }
  if (auto r = decodeRegenerate(body); !refused(r, {Errc::invalid_request}, {"message_id"})) {
    require(r->empty() || atelier::isUuid(*r));
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  authBodies(body);
  chatBodies(body);
  return 0;
}
