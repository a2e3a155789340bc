import { type Static, type TSchema, Type } from '@sinclair/typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable snake_case code to switch on.' }),
      message: Type.String({ description: 'What happened and what to do.' }),
      requestId: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'Error' },
);

export const errorResponses = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  403: Type.Ref('Error'),
  404: Type.Ref('Error'),
  409: Type.Ref('Error'),
  429: Type.Ref('Error'),
};

export const noContent = { 204: Type.Null({ description: 'Done; no body.' }) };

export const OrgParams = Type.Object({ orgId: Type.String({ maxLength: 64 }) });
export const OrgMemberParams = Type.Object({
  orgId: Type.String({ maxLength: 64 }),
  memberId: Type.String({ maxLength: 64 }),
});

/**
 * A reference to a schema published as a named component (`#/components/schemas/<$id>`, registered
 * with `app.addSchema` at the root: see sharedSchemas in src/app.ts), typed as the schema so handlers are checked
 * against it. Generated clients name their types after these components.
 */
export function ref<T extends TSchema>(schema: T) {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}
