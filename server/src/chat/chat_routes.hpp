// The /api/chat routes (CRUD and history). The message, stop and stream routes come with
// the generation engine.
#pragma once

#include "chat/chat_service.hpp"
#include "http/router.hpp"

namespace atelier::chat {

// `requireUser` is the authentication middleware every chat route runs.
void registerChatRoutes(http::Router& router, ChatService& service, http::Middleware requireUser);

}  // namespace atelier::chat
