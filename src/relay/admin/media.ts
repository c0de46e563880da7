/**
 * Server administration of media: delete one media item (an mxc:// URI's server name and media id) or all of a
 * user's, each logged. The same operations serve the admin API and `npm run admin`.
 */
import type { Hs } from '../../hs.js';
import { notFound } from '../../errors.js';
import { isMediaId } from '../../lib/identifiers.js';
import { selectMedia } from '../../db/media.js';
import { selectUser } from '../../db/users.js';
import { deleteMediaIds, deleteMediaOfUser } from '../media/deletion.js';
import { logAdminAction } from './audit.js';

/** Deletes a media item of this server and its thumbnails; 404 M_NOT_FOUND when there is none. */
export async function deleteMediaItem(hs: Hs, admin: string, serverName: string, mediaId: string): Promise<void> {
  const known = serverName === hs.config.serverName && isMediaId(mediaId) ? await selectMedia(hs.sql, mediaId) : undefined;
  if (!known) throw notFound('Unknown media.');
  await deleteMediaIds(hs, [mediaId]);
  logAdminAction(hs, admin, 'delete_media', { media_id: mediaId });
}

/** Deletes every media item a user uploaded; answers how many. */
export async function deleteUserMedia(hs: Hs, admin: string, userId: string): Promise<{ deleted: number }> {
  if (!(await selectUser(hs.sql, userId))) throw notFound(`No such user ${userId}.`);
  const deleted = await deleteMediaOfUser(hs, userId);
  logAdminAction(hs, admin, 'delete_user_media', { user_id: userId, deleted });
  return { deleted };
}
