-- Full-text search over chat titles and message texts: GIN indexes over
-- to_tsvector('simple', …) (words lower-cased by the database's LC_CTYPE, no stemming, so
-- every language is matched word for word). Queries use the same expressions.
CREATE INDEX messages_search ON public.messages USING gin (to_tsvector('simple', content));
CREATE INDEX chats_search ON public.chats USING gin (to_tsvector('simple', title));
