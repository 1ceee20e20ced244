#include "chat/views.hpp"

#include <boost/json/parse.hpp>

namespace atelier::chat {

namespace json = boost::json;

json::object chatJson(const store::Chat& c) {
  json::object o{{"chat_id", c.chatId},
                 {"user_id", c.userId},
                 {"title", c.title},
                 {"is_active", c.isActive},
                 {"created_at", formatRfc3339(c.createdAt)},
                 {"updated_at", formatRfc3339(c.updatedAt)}};
  if (c.currentMessageId) {
    o["current_message_id"] = *c.currentMessageId;
  } else {
    o["current_message_id"] = nullptr;
  }
  return o;
}

json::object messageJson(const store::Message& m) {
  boost::system::error_code ec;
  json::value meta = json::parse(m.metadataJson, ec);
  if (ec || !meta.is_object()) meta = json::object{};
  json::object o{{"message_id", m.messageId},
                 {"chat_id", m.chatId},
                 {"role", m.role},
                 {"content", m.content},
                 {"metadata", std::move(meta)},
                 {"tokens_consumed", m.tokensConsumed},
                 {"created_at", formatRfc3339(m.createdAt)}};
  if (m.parentMessageId) {
    o["parent_message_id"] = *m.parentMessageId;
  } else {
    o["parent_message_id"] = nullptr;
  }
  return o;
}

}  // namespace atelier::chat
