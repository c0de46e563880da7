/**
 * The user directory: searches the users one may see, those sharing a joined room with the searcher and those joined
 * to public or world-readable rooms, by user id and display name, case-insensitively.
 */
import type { Hs } from '../../hs.js';
import { selectDirectoryUsers } from '../../db/directory.js';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

export async function searchUserDirectory(hs: Hs, searcherId: string, req: { search_term: string; limit?: number }) {
  const limit = Math.min(req.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  const term = req.search_term.trim();
  // One row more than asked for tells whether the list was cut.
  const rows = await selectDirectoryUsers(hs.sql, searcherId, term, limit + 1);
  const results = rows.slice(0, limit).map((r) => ({
    user_id: r.userId,
    ...(r.displayName !== null ? { display_name: r.displayName } : {}),
    ...(r.avatarUrl !== null && r.avatarUrl.startsWith('mxc://') ? { avatar_url: r.avatarUrl } : {}),
  }));
  return { results, limited: rows.length > limit };
}
