// The objects of the HTTP contract (shared/API.md).

export interface User {
  user_id: string;
  email: string;
  display_name: string | null;
  email_verified: boolean;
  created_at: string;
}

export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  user: User;
}

export interface Chat {
  chat_id: string;
  user_id: string;
  title: string;
  is_active: boolean;
  current_message_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface Attachment {
  type: 'image';
  upload_id: string;
  url: string;
  mime_type: string;
  size_bytes: number;
}

export interface Message {
  message_id: string;
  chat_id: string;
  parent_message_id: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  metadata: { status?: string; attachments?: Attachment[]; [key: string]: unknown };
  tokens_consumed: number;
  created_at: string;
  siblings?: string[];
}

export interface Usage {
  user_id: string;
  total_tokens_used: number;
  token_limit: number;
  remaining_tokens: number;
  last_reset_at: string;
  next_reset_at: string | null;
}

export interface Upload {
  upload_id: string;
  url: string;
  mime_type: string;
  size_bytes: number;
  created_at: string;
}

export interface ChatPage {
  chat_id: string;
  chat: Chat;
  messages: Message[];
  has_more: boolean;
}

// The events of a message stream.
export interface StartEvent {
  user_message: Message | null;
  assistant_message_id: string;
}
export interface DoneEvent {
  message: Message;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  remaining_tokens: number;
}
export interface ErrorEvent {
  error: { code: string; message: string };
  message: Message | null;
}
