-- Row-level security: the database, not only the application's WHERE clauses, keeps one
-- user's rows from another.
--
-- The server opens every transaction with
--   SET LOCAL ROLE atelier_app;
--   SELECT set_config('atelier.user_id', '<the user being served>', true),
--          set_config('atelier.service', 'on' | 'off', true);
-- atelier_app cannot bypass row-level security, so a statement that forgets its
-- "WHERE user_id = …" still sees that user's rows only. Work that is not done for one user
-- (sign-in by e-mail, refresh-token rotation, the lease sweep, purge, the admin commands)
-- says so with atelier.service = 'on'. With neither set, nothing is visible.
--
-- Tables are not FORCEd: the owner (migrations, an operator's psql) still sees every row.
-- The settings are read through scalar subqueries, "(SELECT f())": evaluated once per
-- statement (an InitPlan), not once per row.

DO $$
BEGIN
  BEGIN
    CREATE ROLE atelier_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
  EXCEPTION
    WHEN duplicate_object THEN NULL;  -- another database of this cluster made it
    WHEN unique_violation THEN NULL;  -- a concurrent migration made it
  END;
  -- The login role may SET ROLE to it (a superuser always can).
  IF NOT pg_has_role(current_user, 'atelier_app', 'MEMBER') THEN
    EXECUTE format('GRANT atelier_app TO %I', current_user);
  END IF;
EXCEPTION
  WHEN insufficient_privilege THEN
    RAISE WARNING 'atelier: cannot create or grant role atelier_app (%); row-level security '
                  'will not apply to the server', SQLERRM;
END
$$;

CREATE FUNCTION public.atelier_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('atelier.user_id', true), '')::uuid $$;

CREATE FUNCTION public.atelier_service() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('atelier.service', true) = 'on', false) $$;

DO $$
DECLARE
  t text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atelier_app') THEN
    RETURN;
  END IF;
  GRANT USAGE ON SCHEMA public TO atelier_app;
  FOREACH t IN ARRAY ARRAY['users', 'user_usage', 'chats', 'messages', 'uploads',
                           'email_codes', 'refresh_tokens', 'rate_windows'] LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO atelier_app', t);
  END LOOP;
  GRANT EXECUTE ON FUNCTION public.atelier_user_id(), public.atelier_service(),
    public.atelier_search_text(text) TO atelier_app;
END
$$;

DO $$
DECLARE
  t text;
  -- The user being served, or service work.
  own constant text :=
    '(SELECT public.atelier_service()) OR user_id = (SELECT public.atelier_user_id())';
  -- A message belongs to the owner of its chat. The user's chat ids are one uncorrelated
  -- subquery (a hashed set built once per statement), not a lookup per message row.
  ownChat constant text :=
    '(SELECT public.atelier_service()) OR chat_id IN (SELECT c.chat_id FROM public.chats c '
    'WHERE c.user_id = (SELECT public.atelier_user_id()))';
BEGIN
  -- Without the role there are no policies for the server to work under: leave the tables as
  -- they were (the server says at start that the database does not keep users apart).
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atelier_app') THEN
    RETURN;
  END IF;
  -- Every table the server uses has row-level security; a role without a policy (Supabase's
  -- anon and authenticated, unless given one below) sees nothing. Not schema_migrations:
  -- every instance reads it at start, whatever its role.
  FOREACH t IN ARRAY ARRAY['users', 'user_usage', 'chats', 'messages', 'uploads',
                           'email_codes', 'refresh_tokens', 'rate_windows'] LOOP
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['users', 'user_usage', 'chats', 'uploads', 'refresh_tokens'] LOOP
    EXECUTE format('CREATE POLICY atelier_own ON public.%I TO atelier_app USING (%s) '
                   'WITH CHECK (%s)', t, own, own);
  END LOOP;
  EXECUTE format('CREATE POLICY atelier_own ON public.messages TO atelier_app USING (%s) '
                 'WITH CHECK (%s)', ownChat, ownChat);
  -- Keyed by e-mail address or limiter key, never shown to users: the server only.
  CREATE POLICY atelier_server ON public.email_codes TO atelier_app USING (true) WITH CHECK (true);
  CREATE POLICY atelier_server ON public.rate_windows TO atelier_app USING (true) WITH CHECK (true);
END
$$;

-- Supabase (an auth schema with auth.uid()): a client signed in through Supabase reads its
-- own rows and nothing else, and writes nothing (quota and history go through the server).
DO $$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    RETURN;
  END IF;
  CREATE POLICY supabase_own_read ON public.users FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
  CREATE POLICY supabase_own_read ON public.user_usage FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
  CREATE POLICY supabase_own_read ON public.chats FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
  CREATE POLICY supabase_own_read ON public.uploads FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
  CREATE POLICY supabase_own_read ON public.messages FOR SELECT TO authenticated
    USING (chat_id IN (SELECT c.chat_id FROM public.chats c WHERE c.user_id = (SELECT auth.uid())));
  -- Password hashes stay with the server even for their owner.
  REVOKE ALL ON public.users FROM authenticated;
  GRANT SELECT (user_id, email, display_name, email_verified, disabled, created_at, updated_at)
    ON public.users TO authenticated;
END
$$;
