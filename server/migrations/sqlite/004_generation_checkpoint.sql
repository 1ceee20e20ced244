-- What a running generation would leave behind if its instance died now: the reply's id and
-- parent, the text so far, the tokens reserved and the tokens it would bill. Written when the
-- generation starts and at each lease renewal (never per chunk); an expired lease is then
-- recovered into an assistant message marked "incomplete" and its reservation settled.
ALTER TABLE chats ADD COLUMN generation_reply_id TEXT;
ALTER TABLE chats ADD COLUMN generation_parent_id TEXT;
ALTER TABLE chats ADD COLUMN generation_text TEXT;
ALTER TABLE chats ADD COLUMN generation_reserved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN generation_billed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS chats_generation_expiry_idx ON chats (generation_expires_at)
  WHERE generation_id IS NOT NULL;
