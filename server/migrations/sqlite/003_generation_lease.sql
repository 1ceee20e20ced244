-- One generation per chat at a time, across instances: a lease the running generation
-- renews. An expired lease (a crashed instance) frees the chat.
ALTER TABLE chats ADD COLUMN generation_id TEXT;
ALTER TABLE chats ADD COLUMN generation_expires_at INTEGER;
