-- Full-text search over chat titles and message texts: GIN indexes over
-- to_tsvector('simple', …) (words lower-cased by the database's LC_CTYPE, no stemming, so
-- every language is matched word for word). Scripts written without spaces (Chinese,
-- Japanese, Korean) get a space around each of their characters first, so that each is a
-- word of its own and a query word in them is found as a phrase of those characters.
-- Queries use exactly these expressions.
CREATE FUNCTION public.atelier_search_text(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT regexp_replace(t, '([\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f])', ' \1 ', 'g') $$;

CREATE INDEX messages_search ON public.messages
  USING gin (to_tsvector('simple', public.atelier_search_text(content)));
CREATE INDEX chats_search ON public.chats
  USING gin (to_tsvector('simple', public.atelier_search_text(title)));
