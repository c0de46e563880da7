-- Up Migration
-- Animated thumbnails (relay/media/thumbnails.ts): a thumbnail asked for with animated=true of an animated GIF or
-- WebP is an animated WebP, kept apart from the still one of the same size and method.
ALTER TABLE media_thumbnails ADD COLUMN animated boolean NOT NULL DEFAULT false;
ALTER TABLE media_thumbnails DROP CONSTRAINT media_thumbnails_pkey;
ALTER TABLE media_thumbnails ADD PRIMARY KEY (media_id, width, height, method, animated);

-- Down Migration
-- (The blobs of the animated thumbnails dropped here stay in the store until equal bytes are deleted.)
DELETE FROM media_thumbnails WHERE animated;
ALTER TABLE media_thumbnails DROP CONSTRAINT media_thumbnails_pkey;
ALTER TABLE media_thumbnails DROP COLUMN animated;
ALTER TABLE media_thumbnails ADD PRIMARY KEY (media_id, width, height, method);
