-- One generation per chat at a time, across instances: a lease the running generation
-- renews. An expired lease (a crashed instance) frees the chat.
ALTER TABLE public.chats ADD COLUMN generation_id uuid;
ALTER TABLE public.chats ADD COLUMN generation_expires_at timestamptz;
