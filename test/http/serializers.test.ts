import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import { reachableSchemaIds, serializerFactory } from '../../src/http/serializers.js';

const Address = {
  $id: 'Address',
  type: 'object',
  properties: { city: { type: 'string' }, zip: { type: 'string' } },
  required: ['city'],
};
const Person = {
  $id: 'Person',
  type: 'object',
  properties: {
    name: { type: 'string' },
    home: { $ref: 'Address#' },
    tags: { type: 'array', items: { type: 'string' } },
  },
};
const Unrelated = { $id: 'Unrelated', type: 'object', properties: { x: { type: 'integer' } } };
const shared = { Address, Person, Unrelated };
const route = (schema: unknown) => ({ schema, method: 'GET', url: '/x', httpStatus: '200' });

describe('response serializers built from the shared schemas a route reaches', () => {
  test('the reachable set follows $ref through shared schemas, and only those', () => {
    const byId = new Map(Object.entries(shared));
    const ids = reachableSchemaIds(
      { type: 'object', properties: { owner: { $ref: 'Person#' }, local: { $ref: '#/definitions/x' } } },
      byId,
    );
    assert.deepEqual([...ids].sort(), ['Address', 'Person']);
    assert.deepEqual([...reachableSchemaIds({ type: 'string' }, byId)], []);
  });

  test('the same output as fast-json-stringify given every shared schema, extra properties dropped alike', () => {
    const schema = {
      type: 'object',
      properties: { owner: { $ref: 'Person#' }, count: { type: 'integer' }, when: { type: 'string' } },
    };
    const ours = serializerFactory(shared, {})(route(schema));
    const reference = fastJsonStringify(schema as unknown as Schema, {
      schema: shared as unknown as Record<string, Schema>,
    });
    for (const data of [
      { owner: { name: 'Ada', home: { city: 'London', zip: 'N1', extra: 'dropped' }, tags: ['a', 'b'] }, count: 3 },
      { owner: { name: 'Bob' }, count: '7', when: 'now', secret: 'never serialized' },
      {},
    ])
      assert.equal(ours(data), reference(data));
    assert.doesNotMatch(ours({ owner: { name: 'x' }, secret: 's' }), /secret/);
  });

  test('an identical schema is built once, but never reused with a different shared schema of the same id', () => {
    const schema = { type: 'object', properties: { owner: { $ref: 'Person#' } } };
    const a = serializerFactory(shared, {})(route(schema));
    assert.equal(serializerFactory(shared, {})(route(structuredClone(schema))), a, 'built once');
    const PersonWithAge = { ...Person, properties: { ...Person.properties, age: { type: 'integer' } } };
    const b = serializerFactory({ ...shared, Person: PersonWithAge }, {})(route(schema));
    assert.notEqual(b, a);
    assert.equal(b({ owner: { name: 'x', age: 5 } }), '{"owner":{"name":"x","age":5}}');
    assert.equal(a({ owner: { name: 'x', age: 5 } }), '{"owner":{"name":"x"}}');
  });
});
