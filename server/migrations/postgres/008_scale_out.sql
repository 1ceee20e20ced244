-- Several instances on one database.
-- A /stop that reaches an instance other than the one generating: it marks the lease, and
-- notifies the channel atelier_stop; the owner also sees the mark at its next lease renewal.
ALTER TABLE public.chats ADD COLUMN generation_stop_requested boolean NOT NULL DEFAULT false;
-- Rate-limit windows shared by every instance (a sliding window over two fixed windows):
-- hits in the current window and in the one before it.
CREATE TABLE IF NOT EXISTS public.rate_windows (
  key text PRIMARY KEY,
  window_start bigint NOT NULL,
  hits integer NOT NULL,
  previous_hits integer NOT NULL
);
