-- Several instances on one database.
-- A /stop that reaches an instance other than the one generating marks the lease; the owner
-- sees the mark at its next lease renewal.
ALTER TABLE chats ADD COLUMN generation_stop_requested INTEGER NOT NULL DEFAULT 0;
-- Rate-limit windows shared by every instance (a sliding window over two fixed windows):
-- hits in the current window and in the one before it.
CREATE TABLE IF NOT EXISTS rate_windows (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  previous_hits INTEGER NOT NULL
) WITHOUT ROWID;
