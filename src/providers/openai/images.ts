/**
 * Input tokens of an image for OpenAI models, after OpenAI's published vision pricing formulas:
 * - tile models: `detail: low` costs the base; otherwise the image is scaled to fit 2048x2048, then
 *   its shortest side to 768 px, and each 512 px tile costs `tile` on top of `base`;
 * - patch models (gpt-4.1-mini/nano, o4-mini, gpt-5-mini/nano and those of gpt-5 point releases,
 *   gpt-5.4-mini...): 32 px patches, at most 1536 (the
 *   image is scaled down to fit), times a per-model multiplier.
 * When the size cannot be read (a URL or file id; only PNG, GIF and JPEG data URLs are parsed), the
 * model's maximum is assumed: 8 tiles, or 1536 patches. `auto` detail is treated as `high`.
 * Community measurements show some models billing less than the formula (never more, as far as we
 * found), so the figures lean conservative.
 */

interface TileCost {
  kind: 'tile';
  base: number;
  tile: number;
}
interface PatchCost {
  kind: 'patch';
  multiplier: number;
}

const MAX_PATCHES = 1536;

function imageCost(model: string): TileCost | PatchCost {
  const m = model.toLowerCase().replace(/^.*\//, '');
  // gpt-5 point releases (gpt-5.1-mini, gpt-5.4-nano...) bill images as their gpt-5 mini or nano does.
  if (m.startsWith('gpt-4.1-mini') || /^gpt-5(\.\d+)?-mini/.test(m)) return { kind: 'patch', multiplier: 1.62 };
  if (m.startsWith('gpt-4.1-nano') || /^gpt-5(\.\d+)?-nano/.test(m)) return { kind: 'patch', multiplier: 2.46 };
  if (m.startsWith('o4-mini')) return { kind: 'patch', multiplier: 1.72 };
  if (m.startsWith('gpt-4o-mini')) return { kind: 'tile', base: 2833, tile: 5667 };
  if (m.startsWith('o1') || (m.startsWith('o3') && !m.startsWith('o3-mini'))) return { kind: 'tile', base: 75, tile: 150 };
  if (m.startsWith('gpt-5')) return { kind: 'tile', base: 70, tile: 140 };
  if (m.startsWith('computer-use')) return { kind: 'tile', base: 65, tile: 129 };
  return { kind: 'tile', base: 85, tile: 170 };
}

/** Image tokens for `model`; `width`/`height` in pixels when known. */
export function openAIImageTokens(model: string, detail: string | undefined, width?: number, height?: number): number {
  const cost = imageCost(model);
  const known = width !== undefined && height !== undefined && width > 0 && height > 0;
  if (cost.kind === 'patch') {
    if (!known) return Math.ceil(MAX_PATCHES * cost.multiplier);
    let patches = Math.ceil(width / 32) * Math.ceil(height / 32);
    if (patches > MAX_PATCHES) {
      const scale = Math.sqrt((MAX_PATCHES * 32 * 32) / (width * height));
      const w = Math.floor(width * scale);
      const h = Math.floor(height * scale);
      patches = Math.min(MAX_PATCHES, Math.ceil(w / 32) * Math.ceil(h / 32));
    }
    return Math.ceil(patches * cost.multiplier);
  }
  if (detail === 'low') return cost.base;
  if (!known) return cost.base + 8 * cost.tile;
  let w = width;
  let h = height;
  if (w > 2048 || h > 2048) {
    const scale = 2048 / Math.max(w, h);
    w *= scale;
    h *= scale;
  }
  const shortest = Math.min(w, h);
  if (shortest > 768) {
    const scale = 768 / shortest;
    w *= scale;
    h *= scale;
  }
  const tiles = Math.ceil(Math.round(w) / 512) * Math.ceil(Math.round(h) / 512);
  return cost.base + tiles * cost.tile;
}

/** Width and height of a PNG, GIF or JPEG `data:` URL, read from its header; else undefined. */
export function dataUrlImageSize(url: string): { width: number; height: number } | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0 || !url.slice(0, comma).includes(';base64')) return undefined;
  // A JPEG's size marker is usually in the first few KB; decode a bounded prefix only.
  const head = Buffer.from(url.slice(comma + 1, comma + 1 + 65_536), 'base64');
  if (head.length >= 24 && head.readUInt32BE(0) === 0x89504e47 && head.toString('latin1', 12, 16) === 'IHDR') {
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
  }
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'GIF') {
    return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
  }
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8) {
    let offset = 2;
    while (offset + 9 < head.length) {
      if (head[offset] !== 0xff) return undefined;
      const marker = head[offset + 1]!;
      const length = head.readUInt16BE(offset + 2);
      const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) return { height: head.readUInt16BE(offset + 5), width: head.readUInt16BE(offset + 7) };
      offset += 2 + length;
    }
  }
  return undefined;
}
