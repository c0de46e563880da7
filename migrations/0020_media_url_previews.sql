-- Up Migration
-- URL previews (MEDIA_URL_PREVIEW=on, relay/media/preview/): each preview made, kept by its URL and the hour it was
-- asked for, so that every client that shows the link within that hour gets it without another fetch. Only with
-- previews on does a URL reach the server at all; the janitor deletes rows older than a day.
CREATE TABLE media_url_previews (
  url text NOT NULL,
  hour bigint NOT NULL,
  preview text NOT NULL,
  created_ts bigint NOT NULL,
  PRIMARY KEY (url, hour)
);
CREATE INDEX media_url_previews_created ON media_url_previews (created_ts);

-- Down Migration
DROP TABLE media_url_previews;
