/** The URL preview cache (MEDIA_URL_PREVIEW=on): one preview per URL and hour, as JSON text. */
import type { Db } from './database.js';

export async function selectUrlPreview(db: Db, url: string, hour: number): Promise<Record<string, unknown> | undefined> {
  const [row] = await db<{ preview: string }[]>`SELECT preview FROM media_url_previews WHERE url = ${url} AND hour = ${hour}`;
  return row ? (JSON.parse(row.preview) as Record<string, unknown>) : undefined;
}

/** Keeps a preview; a request that made the same one first wins. */
export async function insertUrlPreview(db: Db, url: string, hour: number, preview: Record<string, unknown>, now: number): Promise<void> {
  await db`
    INSERT INTO media_url_previews (url, hour, preview, created_ts) VALUES (${url}, ${hour}, ${JSON.stringify(preview)}, ${now})
    ON CONFLICT DO NOTHING`;
}

export async function deleteUrlPreviewsBefore(db: Db, before: number): Promise<number> {
  const rows = await db`DELETE FROM media_url_previews WHERE created_ts < ${before} RETURNING 1`;
  return rows.length;
}
