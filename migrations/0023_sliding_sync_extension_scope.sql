-- Up Migration
-- Sliding sync: room account data and receipts that change while a room is outside every window and subscription
-- are sent when it comes back (docs/sliding-sync-extensions.md, "Rooms leaving and entering a scope"). Each
-- generation keeps the rooms its response covered (its lists' windows and its subscriptions), so the next response
-- knows which rooms entered or left the receipts' and account_data's scope since; a room that left keeps, per
-- extension, the stream position up to which the client has that extension's data of it.
ALTER TABLE sliding_sync_positions ADD COLUMN scope jsonb;
ALTER TABLE sliding_sync_rooms ADD COLUMN receipts_to bigint, ADD COLUMN account_data_to bigint;

-- Down Migration
ALTER TABLE sliding_sync_rooms DROP COLUMN receipts_to, DROP COLUMN account_data_to;
ALTER TABLE sliding_sync_positions DROP COLUMN scope;
