-- Up Migration
-- Sliding sync (docs/sliding-sync.md, "Responses that only advance timelines"): the stream position a generation was
-- written at. The rooms a generation wrote at that position are taken as sent up to the stream position of any pos of
-- that generation, so a response that only advances their timelines writes nothing. Null (generations written
-- before this column): no room is taken as sent beyond its own row.
ALTER TABLE sliding_sync_positions ADD COLUMN head bigint;

-- Down Migration
ALTER TABLE sliding_sync_positions DROP COLUMN head;
