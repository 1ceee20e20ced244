-- Uploaded images. The bytes live in the blob store (a directory or an S3 bucket) under
-- object_key; this row is what makes them the user's. Timestamps are unix milliseconds.
CREATE TABLE uploads (
  upload_id  TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  object_key TEXT NOT NULL UNIQUE,
  mime_type  TEXT NOT NULL CHECK (mime_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
  size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
  sha256     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX uploads_user_created ON uploads (user_id, created_at DESC);
