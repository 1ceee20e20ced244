-- The chat system: usage quotas, chats, messages.
CREATE TABLE public.user_usage (
  user_id           uuid PRIMARY KEY REFERENCES public.users (user_id) ON DELETE CASCADE,
  total_tokens_used bigint NOT NULL DEFAULT 0,
  token_limit       bigint NOT NULL,
  last_reset_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.chats (
  chat_id            uuid PRIMARY KEY,
  user_id            uuid NOT NULL REFERENCES public.users (user_id) ON DELETE CASCADE,
  title              text NOT NULL DEFAULT '',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  is_active          boolean NOT NULL DEFAULT true,
  current_message_id uuid  -- the leaf of the branch on show; no FK (chats and messages cascade)
);
CREATE INDEX chats_user_updated ON public.chats (user_id, updated_at DESC);
CREATE INDEX chats_user_active ON public.chats (user_id) WHERE is_active;

CREATE TABLE public.messages (
  message_id        uuid PRIMARY KEY,
  chat_id           uuid NOT NULL REFERENCES public.chats (chat_id) ON DELETE CASCADE,
  parent_message_id uuid REFERENCES public.messages (message_id) ON DELETE CASCADE,
  role              text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content           text NOT NULL,
  metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
  tokens_consumed   bigint NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now()
);
-- Message ids are UUIDv7: (created_at, message_id) is a stable order.
CREATE INDEX messages_chat_created ON public.messages (chat_id, created_at, message_id);
CREATE INDEX messages_parent ON public.messages (parent_message_id);
