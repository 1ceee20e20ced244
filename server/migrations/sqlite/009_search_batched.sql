-- The full-text index is written once per reply, not once per message: FTS5 writes a new
-- segment and its structure record on every transaction that touches it (~0.24 ms of a
-- 0.36 ms insert, measured on this schema), and the user message's insert sat between the
-- send and its first chunk. New rows of search_docs now wait in search_pending and are
-- indexed together by SqlStore::indexPendingSearch — in the transaction that saves the reply
-- (or recovers it), and before every search, so a search still finds every row.
-- Deleting or changing a row the index has takes it out of the index as before; a row still
-- pending is only taken off the queue (its current body is what will be indexed).
CREATE TABLE search_pending (doc_id INTEGER PRIMARY KEY);

DROP TRIGGER search_docs_ai;
DROP TRIGGER search_docs_ad;
DROP TRIGGER search_docs_au;

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
  INSERT INTO search_pending (doc_id) VALUES (new.doc_id);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
  INSERT INTO search_fts (search_fts, rowid, owner, body)
    SELECT 'delete', old.doc_id, old.owner, old.body
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE doc_id = old.doc_id);
  DELETE FROM search_pending WHERE doc_id = old.doc_id;
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs
  WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE doc_id = old.doc_id) BEGIN
  INSERT INTO search_fts (search_fts, rowid, owner, body)
    VALUES ('delete', old.doc_id, old.owner, old.body);
  INSERT INTO search_fts (rowid, owner, body) VALUES (new.doc_id, new.owner, new.body);
END;
