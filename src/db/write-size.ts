/**
 * postgres.js write batching, in one place. postgres.js (3.4.x, connection.js `write`) appends each protocol message
 * to a per-connection buffer and writes the buffer to the socket at once when it holds WRITTEN_AT_ONCE_BYTES or
 * more; a smaller buffer waits for setImmediate, which a busy event loop reaches only after all its pending I/O
 * callbacks (so that the queries issued in one turn leave in one write). Two places rely on it:
 * - COMMIT is padded past the threshold (COMMIT_AT_ONCE, db/database.ts): locks held until COMMIT (the stream
 *   head's) must not wait for the event loop.
 * - The sync snapshot's Bind stays well under it (db/sync-snapshot.ts sends each parameter once, as a prepared
 *   statement): a woken /sync's one query leaves with the other queries of the same turn, not on its own.
 * test/http/write-size.test.ts pins both on a real connection, so a postgres.js upgrade that changes this fails there.
 */

/** A buffered write of at least this many bytes goes to the socket at once; a smaller one waits for setImmediate. */
export const WRITTEN_AT_ONCE_BYTES = 1024;

/** COMMIT as a simple query whose message is past WRITTEN_AT_ONCE_BYTES (the comment pads it): it leaves at once. */
export const COMMIT_AT_ONCE = `COMMIT /* ${'-'.repeat(WRITTEN_AT_ONCE_BYTES)} */`;
