import { randomFillSync } from 'node:crypto';
import { V7Generator } from 'uuidv7';

/**
 * Random words for UUIDv7, drawn from the CSPRNG 1 KiB at a time (the library's default draws 32
 * bytes per call, and ingest makes several ids per alert).
 */
const words = new Uint32Array(256);
let cursor = words.length;
const generator = new V7Generator({
  nextUint32() {
    if (cursor === words.length) {
      randomFillSync(words);
      cursor = 0;
    }
    return words[cursor++] as number;
  },
});

/** External ids are UUIDv7: time-ordered, so they index and sort well. */
export function newUuid(): string {
  return generator.generate().toString();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
