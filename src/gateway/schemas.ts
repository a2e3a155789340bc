import { type TSchema, Type } from '@sinclair/typebox';

/**
 * The model API's answers as the OpenAPI document describes them: the providers' own shapes
 * (Anthropic Messages, OpenAI chat completions). Completions are streamed to the client as the
 * provider sends them (the reply is hijacked, never serialized through these schemas), so they only
 * name the fields clients rely on and allow every other; the model list is Palisade's own rendering.
 */
const open = { additionalProperties: true };
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const sse = Type.String({ description: 'Server-sent events, as the provider streams them (when "stream": true).' });

export const GatewayMessage = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('message'),
    role: Type.Literal('assistant'),
    model: Type.String(),
    content: Type.Array(Type.Object({ type: Type.String() }, open)),
    stop_reason: Nullable(Type.String()),
    usage: Type.Object({ input_tokens: Type.Integer(), output_tokens: Type.Integer() }, open),
  },
  { ...open, $id: 'GatewayMessage' },
);

export const GatewayChatCompletion = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          message: Type.Object({ role: Type.String(), content: Nullable(Type.String()) }, open),
          finish_reason: Nullable(Type.String()),
        },
        open,
      ),
    ),
    usage: Type.Optional(
      Type.Object(
        { prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() },
        open,
      ),
    ),
  },
  { ...open, $id: 'GatewayChatCompletion' },
);

export const GatewayTokenCount = Type.Object({ input_tokens: Type.Integer() }, { ...open, $id: 'GatewayTokenCount' });

const AnthropicModel = Type.Object({
  type: Type.Literal('model'),
  id: Type.String(),
  display_name: Type.String(),
  created_at: Type.String(),
});
const OpenAIModel = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Nullable(Type.Integer({ description: 'Unix seconds; null when the provider gave no usable date.' })),
  owned_by: Type.String(),
});

/** Anthropic's shape, or OpenAI's for clients that send no anthropic-version header. */
export const GatewayModel = Type.Union([AnthropicModel, OpenAIModel], { $id: 'GatewayModel' });
export const GatewayModelList = Type.Union(
  [
    Type.Object({
      data: Type.Array(AnthropicModel),
      has_more: Type.Boolean(),
      first_id: Nullable(Type.String()),
      last_id: Nullable(Type.String()),
    }),
    Type.Object({ object: Type.Literal('list'), data: Type.Array(OpenAIModel) }),
  ],
  { $id: 'GatewayModelList' },
);

/** A completion: JSON, or server-sent events when the request asked to stream. */
export const completionResponse = (schema: TSchema & { $id?: string }) => ({
  200: {
    description: "The provider's answer, in its own shape.",
    content: {
      'application/json': { schema: Type.Ref(schema.$id as string) },
      'text/event-stream': { schema: sse },
    },
  },
});
