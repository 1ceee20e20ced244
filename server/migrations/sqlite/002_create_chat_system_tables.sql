-- The chat system: usage quotas, chats, messages. Timestamps are INTEGER unix milliseconds.
CREATE TABLE user_usage (
  user_id           TEXT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  total_tokens_used INTEGER NOT NULL DEFAULT 0,
  token_limit       INTEGER NOT NULL,
  last_reset_at     INTEGER NOT NULL
);

CREATE TABLE chats (
  chat_id            TEXT PRIMARY KEY,
  user_id            TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  title              TEXT NOT NULL DEFAULT '',
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  is_active          INTEGER NOT NULL DEFAULT 1,
  current_message_id TEXT  -- the leaf of the branch on show; no FK (chats and messages cascade)
);
CREATE INDEX chats_user_updated ON chats (user_id, updated_at DESC);
CREATE INDEX chats_user_active ON chats (user_id) WHERE is_active = 1;

CREATE TABLE messages (
  message_id        TEXT PRIMARY KEY,
  chat_id           TEXT NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
  parent_message_id TEXT REFERENCES messages (message_id) ON DELETE CASCADE,
  role              TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content           TEXT NOT NULL,
  metadata          TEXT NOT NULL DEFAULT '{}',  -- a JSON object
  tokens_consumed   INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL
);
-- Message ids are UUIDv7: (created_at, message_id) is a stable order.
CREATE INDEX messages_chat_created ON messages (chat_id, created_at, message_id);
CREATE INDEX messages_parent ON messages (parent_message_id);
