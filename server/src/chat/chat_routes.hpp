// The /api/chat routes: CRUD and history, sending a message (streamed as SSE), stopping.
#pragma once

#include "chat/chat_service.hpp"
#include "chat/message_engine.hpp"
#include "http/router.hpp"

namespace atelier::chat {

// `requireUser` is the authentication middleware every chat route runs.
void registerChatRoutes(http::Router& router, ChatService& service, http::Middleware requireUser);
// POST /api/chat/:chatId/message and /regenerate (the SSE stream; `requireToken` checks the
// token only, the engine the account), GET /stream and POST /stop (`requireUser`).
void registerMessageRoutes(http::Router& router, MessageEngine& engine, int maxMessageChars,
                           http::Middleware requireUser, http::Middleware requireToken,
                           std::chrono::milliseconds keepAlive = std::chrono::seconds(15));

}  // namespace atelier::chat
