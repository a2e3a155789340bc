import { Type } from '@sinclair/typebox';

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
