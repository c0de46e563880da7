/**
 * sharp is imported only through src/relay/media/image-decoders.ts, which leaves libvips the JPEG, PNG, GIF and WebP
 * decoders alone: an import of 'sharp' elsewhere in src would run before (or without) the block.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import sharp from '../../src/relay/media/image-decoders.js';

const SRC = path.resolve('src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('image decoders', () => {
  test("no module of src imports 'sharp' but image-decoders.ts", () => {
    const importing = sources(SRC).filter((f) => /from 'sharp'/.test(readFileSync(f, 'utf8'))).map((f) => path.relative(SRC, f));
    expect(importing).toEqual([path.join('relay', 'media', 'image-decoders.ts')]);
  });

  test('JPEG, PNG, GIF and WebP decode; SVG, TIFF and AVIF do not', async () => {
    const small = sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
    for (const format of ['jpeg', 'png', 'gif', 'webp'] as const) {
      const meta = await sharp(await small.clone().toFormat(format).toBuffer()).metadata();
      expect(meta.format).toBe(format);
    }
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
    for (const bytes of [svg, await small.clone().tiff().toBuffer(), await small.clone().avif().toBuffer()]) {
      await expect(sharp(bytes).metadata()).rejects.toThrow(/unsupported image format/);
    }
  });
});
