/**
 * Glob patterns a client supplies (filter `types`/`not_types`): `*` matches any run of characters, everything else
 * is literal. Matching takes time linear in pattern plus text, whatever the pattern: no regular expression is built
 * from client input, and nothing backtracks.
 */

/**
 * Whether `text` matches `pattern` as a whole. The pattern splits at `*` into literal pieces: the first must start
 * the text, the last must end it, and each one between is found at its leftmost place after the previous one
 * (taking the leftmost place never loses a match, since whatever follows could also follow a later place).
 * Each search is Knuth-Morris-Pratt and starts where the previous one ended, so the text is read once.
 */
export function globMatches(pattern: string, text: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return pattern === text;
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  if (head.length + tail.length > text.length || !text.startsWith(head) || !text.endsWith(tail)) return false;
  let from = head.length;
  const end = text.length - tail.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i];
    if (piece.length === 0) continue;
    const at = indexOfWithin(text, piece, from, end);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
}

/** The first index >= from at which `needle` occurs entirely before `end`, or -1; O(needle + scanned text). */
function indexOfWithin(text: string, needle: string, from: number, end: number): number {
  if (end - from < needle.length) return -1;
  const fail = failureTable(needle);
  let matched = 0;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    while (matched > 0 && needle.charCodeAt(matched) !== c) matched = fail[matched - 1];
    if (needle.charCodeAt(matched) === c) matched++;
    if (matched === needle.length) return i - needle.length + 1;
  }
  return -1;
}

/** fail[k]: length of the longest proper prefix of needle[0..k] that is also its suffix. */
function failureTable(needle: string): Int32Array {
  const fail = new Int32Array(needle.length);
  let k = 0;
  for (let i = 1; i < needle.length; i++) {
    const c = needle.charCodeAt(i);
    while (k > 0 && needle.charCodeAt(k) !== c) k = fail[k - 1];
    if (needle.charCodeAt(k) === c) k++;
    fail[i] = k;
  }
  return fail;
}
