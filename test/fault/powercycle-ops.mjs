// The scenario of test/vault-powercut.test.ts, shared by the test and its child: one operation per power
// cycle (put striped, put inline, overwrite striped, delete inline, put striped), deterministic bytes.
export function pattern(tag, size) {
  const b = Buffer.alloc(size);
  let x = (tag * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
export const OPS = [
  { key: 'a', data: pattern(1, 5 * 4 * 4096 + 333) }, // striped, 6 stripes of 4+2 x 4 KiB
  { key: 'small', data: pattern(2, 5000) }, // inline: manifest copies only
  { key: 'a', data: pattern(3, 3 * 4 * 4096 - 1) }, // overwrite with a new striped version
  { key: 'small', data: null }, // delete
  { key: 'c', data: pattern(4, 2 * 4 * 4096 + 1) },
];
export const NOISE = pattern(9, 40 * 4096); // written after every ack, never acknowledged before a cut
