/**
 * The stream head: one row whose value is the watermark /sync reads up to. A writer takes its position(s) last
 * in its transaction; the row lock then orders commits by position, so every position <= head has committed.
 */
import type { Db, Tx } from './database.js';

/** Takes the next stream position inside a writing transaction; call it just before commit. */
export async function takeStreamPosition(tx: Tx): Promise<number> {
  const [row] = await tx<{ pos: number }[]>`UPDATE stream_head SET pos = nextval('stream_positions') RETURNING pos`;
  return row.pos;
}

/** The highest position below which every write has committed. */
export async function selectStreamHead(db: Db): Promise<number> {
  const [row] = await db<{ pos: number }[]>`SELECT pos FROM stream_head`;
  return row.pos;
}
