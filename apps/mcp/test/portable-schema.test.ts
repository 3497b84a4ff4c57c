import { describe, expect, it } from 'vitest';
import { portableSchema } from '../src/portable-schema.js';

describe('portableSchema', () => {
  it('splits a nullable type union into single-type anyOf branches, keeping annotations on top', () => {
    expect(portableSchema({ type: ['string', 'null'], maxLength: 5, description: 'd' })).toEqual({
      description: 'd',
      anyOf: [{ type: 'string', maxLength: 5 }, { type: 'null' }],
    });
    expect(portableSchema({ type: ['string', 'null'], enum: ['a', 'b', null] })).toEqual({
      anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'null' }],
    });
    expect(portableSchema({ type: ['integer'] })).toEqual({ type: 'integer' });
  });

  it('gives keyword-less schemas a keyword, and leaves `not: {}` alone', () => {
    const any = ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type }));
    expect(portableSchema({ description: 'anything' })).toEqual({ description: 'anything', anyOf: any });
    expect(portableSchema({ type: 'object', additionalProperties: {} })).toEqual({
      type: 'object',
      additionalProperties: true,
    });
    expect(portableSchema({ not: {} })).toEqual({ not: {} });
  });

  it('reaches nested schemas (properties, items, definitions, anyOf) without changing the input', () => {
    const input = {
      type: 'object',
      properties: { a: { type: 'array', items: { type: ['number', 'null'] } } },
      definitions: { D: { anyOf: [{}, { type: 'string' }] } },
    };
    const copy = structuredClone(input);
    expect(portableSchema(input)).toEqual({
      type: 'object',
      properties: { a: { type: 'array', items: { anyOf: [{ type: 'number' }, { type: 'null' }] } } },
      definitions: {
        D: {
          anyOf: [
            { anyOf: ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type })) },
            { type: 'string' },
          ],
        },
      },
    });
    expect(input).toEqual(copy);
  });
});
