-- Chats written before branches existed become single branches: a message without a parent
-- that is not its chat's first gets the message before it (by time, then id) as parent, and
-- a chat without a current message shows its newest one.
UPDATE messages SET parent_message_id = (
    SELECT p.message_id FROM messages p
    WHERE p.chat_id = messages.chat_id
      AND (p.created_at < messages.created_at
           OR (p.created_at = messages.created_at AND p.message_id < messages.message_id))
    ORDER BY p.created_at DESC, p.message_id DESC LIMIT 1)
  WHERE parent_message_id IS NULL;
UPDATE chats SET current_message_id = (
    SELECT m.message_id FROM messages m WHERE m.chat_id = chats.chat_id
    ORDER BY m.created_at DESC, m.message_id DESC LIMIT 1)
  WHERE current_message_id IS NULL;
