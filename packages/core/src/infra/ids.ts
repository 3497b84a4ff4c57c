import { uuidv7 } from 'uuidv7';

/** External ids are UUIDv7: time-ordered, so they index and sort well. */
export function newUuid(): string {
  return uuidv7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
