-- Full-text search over chat titles and message texts: FTS5 with the unicode61 tokenizer
-- (case and accents folded). search_docs holds one row per message and one per chat title
-- (message_id NULL); search_fts indexes it as external content. Triggers keep both in step.
-- `owner` is the user id without dashes (one token), so a query is limited to one user's rows
-- inside the index itself.
CREATE TABLE search_docs (
  doc_id     INTEGER PRIMARY KEY,
  owner      TEXT NOT NULL,
  chat_id    TEXT NOT NULL,
  message_id TEXT,
  body       TEXT NOT NULL
);
CREATE INDEX search_docs_message ON search_docs (message_id);
CREATE INDEX search_docs_chat ON search_docs (chat_id);
CREATE INDEX search_docs_owner ON search_docs (owner);

CREATE VIRTUAL TABLE search_fts USING fts5(
  owner, body, content = 'search_docs', content_rowid = 'doc_id',
  tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
  INSERT INTO search_fts (rowid, owner, body) VALUES (new.doc_id, new.owner, new.body);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
  INSERT INTO search_fts (search_fts, rowid, owner, body)
    VALUES ('delete', old.doc_id, old.owner, old.body);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
  INSERT INTO search_fts (search_fts, rowid, owner, body)
    VALUES ('delete', old.doc_id, old.owner, old.body);
  INSERT INTO search_fts (rowid, owner, body) VALUES (new.doc_id, new.owner, new.body);
END;

CREATE TRIGGER messages_search_ai AFTER INSERT ON messages BEGIN
  INSERT INTO search_docs (owner, chat_id, message_id, body)
    SELECT replace(c.user_id, '-', ''), new.chat_id, new.message_id, new.content
    FROM chats c WHERE c.chat_id = new.chat_id;
END;
CREATE TRIGGER messages_search_ad AFTER DELETE ON messages BEGIN
  DELETE FROM search_docs WHERE message_id = old.message_id;
END;
CREATE TRIGGER messages_search_au AFTER UPDATE OF content ON messages BEGIN
  UPDATE search_docs SET body = new.content WHERE message_id = new.message_id;
END;
CREATE TRIGGER chats_search_ai AFTER INSERT ON chats BEGIN
  INSERT INTO search_docs (owner, chat_id, message_id, body)
    VALUES (replace(new.user_id, '-', ''), new.chat_id, NULL, new.title);
END;
CREATE TRIGGER chats_search_au AFTER UPDATE OF title ON chats
  WHEN new.title IS NOT old.title BEGIN
  UPDATE search_docs SET body = new.title WHERE chat_id = new.chat_id AND message_id IS NULL;
END;
CREATE TRIGGER chats_search_ad AFTER DELETE ON chats BEGIN
  DELETE FROM search_docs WHERE chat_id = old.chat_id;
END;

-- What is there already.
INSERT INTO search_docs (owner, chat_id, message_id, body)
  SELECT replace(user_id, '-', ''), chat_id, NULL, title FROM chats;
INSERT INTO search_docs (owner, chat_id, message_id, body)
  SELECT replace(c.user_id, '-', ''), m.chat_id, m.message_id, m.content
  FROM messages m JOIN chats c ON c.chat_id = m.chat_id;
