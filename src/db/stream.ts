/**
 * The stream head: one row whose value is the watermark /sync reads up to. A writer takes its position(s) last
 * in its transaction; the row lock then orders commits by position, so every position <= head has committed.
 */
import { commitPipelined, type Db, type Tx } from './database.js';

/** Takes the next stream position inside a writing transaction; call it just before commit. */
export async function takeStreamPosition(tx: Tx): Promise<number> {
  const [row] = await tx<{ pos: number }[]>`UPDATE stream_head SET pos = nextval('stream_positions') RETURNING pos`;
  return row.pos;
}

/** The position this transaction's takeStreamPosition just took, as SQL, for statements pipelined right behind it. */
export const positionJustTaken = (tx: Tx) => tx`currval('stream_positions')`;
export type PositionSql = ReturnType<typeof positionJustTaken>;

/**
 * Takes the next stream position, runs `stamps` at it (each given the position as SQL) and commits, all pipelined
 * in one round trip: the stream head's lock is held for PostgreSQL's work only, never across a turn of this
 * process's event loop. Nothing may be issued on `tx` after it.
 */
export async function stampAtNextPositionAndCommit(tx: Tx, stamps: ((pos: PositionSql) => Promise<unknown>)[]): Promise<number> {
  const taken = takeStreamPosition(tx);
  const stamped = stamps.map((stamp) => stamp(positionJustTaken(tx)));
  const [pos] = await Promise.all([taken, ...stamped, commitPipelined(tx)]);
  return pos;
}

/** The highest position below which every write has committed. */
export async function selectStreamHead(db: Db): Promise<number> {
  const [row] = await db<{ pos: number }[]>`SELECT pos FROM stream_head`;
  return row.pos;
}
