import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Lets global `fetch` read `file://` URLs (whole files, or the byte range of a `Range: bytes=a-b` header), as an
 * object store would serve them, so third-party readers that only speak HTTP (icebird, hyparquet) can read a local
 * warehouse. Returns a function that restores the original fetch.
 */
export function allowFileFetch(): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith('file:')) return original(input, init);
    const path = fileURLToPath(url);
    const range = /^bytes=(\d+)-(\d*)$/.exec(new Headers(init?.headers).get('range') ?? '');
    try {
      if (!range) return new Response(await readFile(path), { status: 200 });
      const handle = await open(path, 'r');
      try {
        const size = (await handle.stat()).size;
        const start = Number(range[1]);
        const end = Math.min(range[2] === '' ? size - 1 : Number(range[2]), size - 1);
        const buffer = Buffer.alloc(Math.max(0, end - start + 1));
        await handle.read(buffer, 0, buffer.length, start);
        return new Response(buffer, { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${size}` } });
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Response('not found', { status: 404, statusText: 'Not Found' });
      throw err;
    }
  };
  return () => {
    globalThis.fetch = original;
  };
}
