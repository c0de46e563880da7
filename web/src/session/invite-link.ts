/**
 * The invite link: this server's own address and the room id, `https://host/join/<room id>`. The server answers
 * that path with the page (src/web/serve.ts), which reads the room id back from it.
 */

export function inviteLink(roomId: string, origin = window.location.origin): string {
  return `${origin}/join/${encodeURIComponent(roomId)}`;
}

/** The room id of an invite link's path (or of a whole link pasted by hand), if it is one. */
export function roomIdFromLink(pathOrUrl: string): string | undefined {
  let path = pathOrUrl.trim();
  try {
    if (/^https?:\/\//.test(path)) path = new URL(path).pathname;
  } catch {
    return undefined;
  }
  const m = /^\/join\/([^/]+)\/?$/.exec(path);
  if (!m) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  return /^![^:]+:.+$/.test(id) || /^![A-Za-z0-9_-]{20,}$/.test(id) ? id : undefined;
}
