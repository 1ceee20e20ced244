// The JSON bodies of the chat routes, decoded and checked: pure functions of the body's bytes
// (fuzzed by server/fuzz/route_body_fuzz.cpp). Failures are Errc::invalid_request naming
// their field, or Errc::invalid_attachment for `attachments`. Whether an id names a message
// of the chat, or a url one of the user's uploads, is for the service to check.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/types.hpp"
#include "util/result.hpp"

namespace atelier::chat {

inline constexpr std::size_t kMaxTitleChars = 200;
inline constexpr std::size_t kMaxAttachments = 4;
inline constexpr std::size_t kMaxAttachmentUrl = 1024;

// {"attachments": …} and the images' checks: Errc::invalid_attachment, field "attachments".
Error invalidAttachment(std::string message);

// POST /api/chat: {title?}
struct CreateChatBody {
  std::string title;  // "" when absent
};
Result<CreateChatBody> decodeCreateChat(std::string_view body);

// PATCH /api/chat/:chatId: {title?, is_active?, current_message_id?}, at least one.
struct PatchChatBody {
  store::ChatPatch patch;
  std::optional<std::string> currentMessageId;  // a UUID
};
Result<PatchChatBody> decodePatchChat(std::string_view body);

// POST /api/chat/:chatId/message: {message, attachments?, parent_message_id?}
struct MessageBody {
  std::string message;                         // trimmed, 1 to maxMessageChars characters
  std::vector<std::string> attachmentUrls;     // at most kMaxAttachments
  std::optional<std::string> parentMessageId;  // unset: after the current message; "": a new
                                               // first message; else a UUID
};
Result<MessageBody> decodeMessage(std::string_view body, std::size_t maxMessageChars);

// POST /api/chat/:chatId/regenerate: {message_id?}; "" when absent (the current reply).
Result<std::string> decodeRegenerate(std::string_view body);

}  // namespace atelier::chat
