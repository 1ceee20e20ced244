-- Users and authentication state (Supabase-compatible: public.users).
CREATE TABLE public.users (
  user_id        uuid PRIMARY KEY,
  email          text NOT NULL UNIQUE,
  password_hash  text NOT NULL,
  display_name   text NOT NULL DEFAULT '',
  email_verified boolean NOT NULL DEFAULT false,
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One live code per (email, purpose); only its hash is kept.
CREATE TABLE public.email_codes (
  email      text NOT NULL,
  purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  code_hash  text NOT NULL,
  attempts   integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  PRIMARY KEY (email, purpose)
);

-- Refresh tokens by hash; a family is one login, revoked whole when a rotated token is reused.
CREATE TABLE public.refresh_tokens (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES public.users (user_id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  replaced_by text
);
CREATE INDEX refresh_tokens_family ON public.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON public.refresh_tokens (user_id);
