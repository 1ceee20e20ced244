-- Uploaded images. The bytes live in the blob store (a directory or an S3 bucket) under
-- object_key; this row is what makes them the user's.
CREATE TABLE public.uploads (
  upload_id  uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES public.users (user_id) ON DELETE CASCADE,
  object_key text NOT NULL UNIQUE,
  mime_type  text NOT NULL CHECK (mime_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
  size_bytes bigint NOT NULL CHECK (size_bytes > 0),
  sha256     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_user_created ON public.uploads (user_id, created_at DESC);
