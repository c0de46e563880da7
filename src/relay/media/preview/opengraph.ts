/**
 * What a page says of itself for a preview: its OpenGraph properties (`<meta property="og:...">`), with the
 * `<title>` and `<meta name="description">` as fallbacks, read with htmlparser2 (a forgiving streaming parser: no
 * DOM is built and no script runs). Values are cut to sane lengths; og:image is made absolute against the page URL.
 */
import { Parser } from 'htmlparser2';

/** The properties kept (others are dropped: a preview needs no more). */
const KEPT = new Set(['og:title', 'og:description', 'og:image', 'og:image:width', 'og:image:height', 'og:image:type', 'og:site_name', 'og:type', 'og:url']);
const MAX_TEXT = 1000;

export type OpenGraph = Record<string, string>;

const clean = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);

/** The page's text, in the charset its Content-Type names when the platform knows it, else UTF-8. */
export function decodePage(body: Buffer, contentType: string): string {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

export function parseOpenGraph(html: string, pageUrl: URL): OpenGraph {
  const og: OpenGraph = {};
  let title = '';
  let inTitle = false;
  let description: string | undefined;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'title') inTitle = true;
        if (name !== 'meta' || attrs.content === undefined) return;
        const key = (attrs.property ?? attrs.name ?? '').toLowerCase();
        if (KEPT.has(key) && og[key] === undefined && clean(attrs.content) !== '') og[key] = clean(attrs.content);
        if (key === 'description' && description === undefined) description = clean(attrs.content);
      },
      ontext(text) {
        if (inTitle && title.length < MAX_TEXT) title += text;
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (og['og:title'] === undefined && clean(title) !== '') og['og:title'] = clean(title);
  if (og['og:description'] === undefined && description) og['og:description'] = description;
  if (og['og:image'] !== undefined) {
    try {
      og['og:image'] = new URL(og['og:image'], pageUrl).href;
    } catch {
      delete og['og:image'];
    }
  }
  return og;
}
