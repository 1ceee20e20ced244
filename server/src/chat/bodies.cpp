#include "chat/bodies.hpp"

#include <boost/json/object.hpp>

#include "http/json_body.hpp"
#include "util/crypto.hpp"
#include "util/text.hpp"

namespace atelier::chat {

namespace json = boost::json;

namespace {

Result<std::optional<std::string>> readTitle(const json::object& body) {
  auto title = http::optionalString(body, "title");
  if (!title) return std::move(title).error();
  if (*title && http::utf8Length(**title) > kMaxTitleChars) {
    return Error::make(Errc::invalid_request, "title is at most 200 characters", "title");
  }
  return title;
}

// The urls of `attachments`: an array of at most kMaxAttachments {type: "image", url} items.
Result<std::vector<std::string>> readAttachments(const json::object& body) {
  std::vector<std::string> urls;
  const auto* list = body.if_contains("attachments");
  if (list == nullptr || list->is_null()) return urls;
  if (!list->is_array()) return invalidAttachment("attachments must be an array");
  if (list->as_array().size() > kMaxAttachments) {
    return invalidAttachment("at most " + std::to_string(kMaxAttachments) +
                             " attachments per message");
  }
  for (const auto& item : list->as_array()) {
    const auto* o = item.if_object();
    const auto* type = o ? o->if_contains("type") : nullptr;
    const auto* url = o ? o->if_contains("url") : nullptr;
    if (type == nullptr || !type->is_string() || type->as_string() != "image") {
      return invalidAttachment("each attachment is {\"type\": \"image\", \"url\": …}");
    }
    if (url == nullptr || !url->is_string() || url->as_string().empty() ||
        url->as_string().size() > kMaxAttachmentUrl) {
      return invalidAttachment("each attachment needs the url its upload returned");
    }
    urls.emplace_back(url->as_string());
  }
  return urls;
}

// `parent_message_id`: absent (after the current message), null (a new first message, as
// an empty string) or a message id.
Result<std::optional<std::string>> readParent(const json::object& body) {
  const auto* v = body.if_contains("parent_message_id");
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_null()) return std::optional<std::string>(std::string());
  if (!v->is_string() || !isUuid(v->as_string())) {
    return Error::make(Errc::invalid_request,
                       "parent_message_id is not a reply in this chat (or null for a new first "
                       "message)",
                       "parent_message_id");
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

}  // namespace

Error invalidAttachment(std::string message) {
  return Error::make(Errc::invalid_attachment, std::move(message), "attachments");
}

Result<CreateChatBody> decodeCreateChat(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  auto title = readTitle(*body);
  if (!title) return std::move(title).error();
  return CreateChatBody{std::move(*title).value_or("")};
}

Result<PatchChatBody> decodePatchChat(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  PatchChatBody b;
  auto title = readTitle(*body);
  if (!title) return std::move(title).error();
  b.patch.title = std::move(title).value();
  auto active = http::optionalBool(*body, "is_active");
  if (!active) return std::move(active).error();
  b.patch.isActive = *active;
  auto current = http::optionalString(*body, "current_message_id");
  if (!current) return std::move(current).error();
  if (*current && !isUuid(**current)) {
    return Error::make(Errc::invalid_request, "current_message_id is not a message of this chat",
                       "current_message_id");
  }
  b.currentMessageId = std::move(current).value();
  if (!b.patch.title && !b.patch.isActive && !b.currentMessageId) {
    return Error::make(Errc::invalid_request,
                       "nothing to change: give title, is_active or current_message_id", "title");
  }
  return b;
}

Result<MessageBody> decodeMessage(std::string_view text, std::size_t maxMessageChars) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  auto message = http::requireString(*body, "message");
  if (!message) return std::move(message).error();
  const std::string_view trimmed = trim(*message, kWhiteSpace);
  if (trimmed.empty())
    return Error::make(Errc::invalid_request, "message must not be empty", "message");
  if (http::utf8Length(trimmed) > maxMessageChars) {
    return Error::make(Errc::invalid_request,
                       "message is longer than " + std::to_string(maxMessageChars) + " characters",
                       "message");
  }
  auto attachments = readAttachments(*body);
  if (!attachments) return std::move(attachments).error();
  auto parent = readParent(*body);
  if (!parent) return std::move(parent).error();
  return MessageBody{std::string(trimmed), std::move(attachments).value(),
                     std::move(parent).value()};
}

Result<std::string> decodeRegenerate(std::string_view text) {
  auto body = http::parseJsonObject(text);
  if (!body) return std::move(body).error();
  auto messageId = http::optionalString(*body, "message_id");
  if (!messageId) return std::move(messageId).error();
  if (*messageId && !isUuid(**messageId)) {
    return Error::make(Errc::invalid_request, "message_id is not a reply in this chat",
                       "message_id");
  }
  return std::move(*messageId).value_or(std::string());
}

}  // namespace atelier::chat
