// Brotli copies of files, for hosts that serve precompressed files (nginx's brotli_static,
// Caddy's `precompressed br`): Node's own zlib, at the highest quality, which a host
// compressing on the fly would not spend.
//
//   node scripts/precompress.mjs <source> <out.br> [<source> <out.br>]...
//
// serving/precompress.py runs it at export, once per file version (it keeps the results).
// Each output is written beside its name and renamed into place, so none is ever half written.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants } from "node:zlib";

const pairs = process.argv.slice(2);
if (!pairs.length || pairs.length % 2) {
  console.error("usage: node scripts/precompress.mjs <source> <out.br> [<source> <out.br>]...");
  process.exit(2);
}
for (let i = 0; i < pairs.length; i += 2) {
  const data = readFileSync(pairs[i]);
  const compressed = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const partial = `${pairs[i + 1]}.${process.pid}`;
  writeFileSync(partial, compressed);
  renameSync(partial, pairs[i + 1]);
}
