import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import { OrgMemberParams, OrgParams, errorResponses, noContent, ref } from '../http/schemas.js';
import {
  InvitationDelivery,
  InviteMemberInput,
  ListMembersQuery,
  UpdateMemberInput,
  inviteMember,
  listMembers,
  removeMember,
  updateMember,
} from './members.js';
import {
  InvitationParams,
  InvitationView,
  acceptInvitation,
  declineInvitation,
  listMyInvitations,
} from './invitations.js';
import { MemberPasswordResetInput, MemberPasswordResetView, resetMemberPassword } from './member-password-reset.js';
import {
  CreateOrganizationInput,
  UpdateOrganizationInput,
  createChildOrganization,
  createOrganization,
  deleteOrganization,
  getOrganization,
  listChildOrganizations,
  listMyOrganizations,
  updateOrganization,
} from './organizations.js';
import { MemberSuspensionView, SuspendMemberInput, reactivateMember, suspendMember } from './suspension.js';
import { MemberView, OrganizationView, Warning } from '../orgs/views.js';

export const orgSchemas = [MemberSuspensionView];

const orgTags = ['Organizations'];
const memberTags = ['Members'];
const Link = Type.Union([Type.Object({ url: Type.String(), expiresAt: Type.String() }), Type.Null()]);
const PageQuery = Type.Object(PageQuerySchema);

export async function orgRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/orgs',
    {
      schema: {
        tags: orgTags,
        operationId: 'createOrganization',
        summary: 'Create a top-level organization (when PALISADE_ORG_CREATION=any_user)',
        body: CreateOrganizationInput,
        response: { 201: Type.Object({ organization: OrganizationView }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { organization } = await createOrganization(request.ctx, request.body);
      return reply.status(201).send({ organization });
    },
  );
  app.get(
    '/orgs',
    {
      schema: {
        tags: orgTags,
        operationId: 'listOrganizations',
        summary: 'Organizations you belong to or administer',
        querystring: PageQuery,
        response: { 200: pageSchema(OrganizationView), ...errorResponses },
      },
    },
    async (request) => listMyOrganizations(request.ctx, pageRequest(request.query)),
  );
  app.get(
    '/orgs/:orgId',
    {
      schema: {
        tags: orgTags,
        operationId: 'getOrganization',
        summary: 'Read an organization',
        params: OrgParams,
        response: { 200: OrganizationView, ...errorResponses },
      },
    },
    async (request) => getOrganization(request.ctx, request.params.orgId),
  );
  app.patch(
    '/orgs/:orgId',
    {
      schema: {
        tags: orgTags,
        operationId: 'updateOrganization',
        summary: 'Rename an organization or change its billing contact (owners only)',
        params: OrgParams,
        body: UpdateOrganizationInput,
        response: { 200: OrganizationView, ...errorResponses },
      },
    },
    async (request) => updateOrganization(request.ctx, request.params.orgId, request.body),
  );
  app.delete(
    '/orgs/:orgId',
    {
      schema: {
        tags: orgTags,
        operationId: 'deleteOrganization',
        summary: 'Delete an organization (primary owners; children first)',
        params: OrgParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteOrganization(request.ctx, request.params.orgId);
      return reply.status(204).send();
    },
  );
  app.post(
    '/orgs/:orgId/children',
    {
      schema: {
        tags: orgTags,
        operationId: 'createChildOrganization',
        summary: 'Create a child organization (business unit)',
        params: OrgParams,
        body: CreateOrganizationInput,
        response: { 201: OrganizationView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createChildOrganization(request.ctx, request.params.orgId, request.body)),
  );
  app.get(
    '/orgs/:orgId/children',
    {
      schema: {
        tags: orgTags,
        operationId: 'listChildOrganizations',
        summary: 'List child organizations',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageSchema(OrganizationView), ...errorResponses },
      },
    },
    async (request) => listChildOrganizations(request.ctx, request.params.orgId, pageRequest(request.query)),
  );

  app.get(
    '/orgs/:orgId/members',
    {
      schema: {
        tags: memberTags,
        operationId: 'listMembers',
        summary:
          'List members, pending invitations and suspended members; ?q= searches address and name, ?status= and ?role= filter',
        params: OrgParams,
        querystring: ListMembersQuery,
        response: { 200: pageSchema(MemberView), ...errorResponses },
      },
    },
    async (request) => {
      const { status, role, q } = request.query;
      return listMembers(request.ctx, request.params.orgId, pageRequest(request.query), { status, role, q });
    },
  );
  app.post(
    '/orgs/:orgId/members',
    {
      schema: {
        tags: memberTags,
        operationId: 'inviteMember',
        summary:
          'Invite a person by email (the invitation goes to the address; an existing account accepts while signed in)',
        params: OrgParams,
        body: InviteMemberInput,
        response: {
          201: Type.Object({
            member: MemberView,
            inviteLink: Link,
            delivery: InvitationDelivery,
            warnings: Type.Array(Warning),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await inviteMember(request.ctx, request.params.orgId, request.body)),
  );
  app.patch(
    '/orgs/:orgId/members/:memberId',
    {
      schema: {
        tags: memberTags,
        operationId: 'updateMember',
        summary: "Change a member's role, or lift a suspension whose SCIM directory was deleted",
        params: OrgMemberParams,
        body: UpdateMemberInput,
        response: { 200: Type.Object({ member: MemberView, warnings: Type.Array(Warning) }), ...errorResponses },
      },
    },
    async (request) => updateMember(request.ctx, request.params.orgId, request.params.memberId, request.body),
  );
  app.post(
    '/orgs/:orgId/members/:memberId/suspend',
    {
      schema: {
        tags: memberTags,
        operationId: 'suspendMember',
        summary:
          'Suspend a member: their membership keeps its role and grants nothing here until reactivated (their other organizations are untouched)',
        params: OrgMemberParams,
        body: SuspendMemberInput,
        response: { 200: ref(MemberSuspensionView), ...errorResponses },
      },
    },
    async (request) => suspendMember(request.ctx, request.params.orgId, request.params.memberId, request.body ?? {}),
  );
  app.post(
    '/orgs/:orgId/members/:memberId/reactivate',
    {
      schema: {
        tags: memberTags,
        operationId: 'reactivateMember',
        summary:
          'Reactivate a suspended member (one an admin suspended, or whose suspending SCIM directory was deleted)',
        params: OrgMemberParams,
        response: { 200: ref(MemberSuspensionView), ...errorResponses },
      },
    },
    async (request) => reactivateMember(request.ctx, request.params.orgId, request.params.memberId),
  );
  app.post(
    '/orgs/:orgId/members/:memberId/password-reset',
    {
      schema: {
        tags: memberTags,
        operationId: 'resetMemberPassword',
        summary:
          "Reset a member's password (only for addresses at a domain this organization verified): ends their credentials and sends a one-time link",
        params: OrgMemberParams,
        body: MemberPasswordResetInput,
        response: { 200: MemberPasswordResetView, ...errorResponses },
      },
    },
    async (request) =>
      resetMemberPassword(request.ctx, request.params.orgId, request.params.memberId, request.body ?? {}),
  );

  app.get(
    '/me/invitations',
    {
      schema: {
        tags: memberTags,
        operationId: 'listMyInvitations',
        summary: 'Your pending invitations to organizations',
        response: { 200: Type.Object({ data: Type.Array(InvitationView) }), ...errorResponses },
      },
    },
    async (request) => listMyInvitations(request.ctx),
  );
  app.post(
    '/me/invitations/:membershipId/accept',
    {
      schema: {
        tags: memberTags,
        operationId: 'acceptInvitation',
        summary: 'Accept an invitation (signed-in session, proven address)',
        params: InvitationParams,
        response: { 200: InvitationView, ...errorResponses },
      },
    },
    async (request) => acceptInvitation(request.ctx, request.params.membershipId),
  );
  app.post(
    '/me/invitations/:membershipId/decline',
    {
      schema: {
        tags: memberTags,
        operationId: 'declineInvitation',
        summary: 'Decline an invitation',
        params: InvitationParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await declineInvitation(request.ctx, request.params.membershipId);
      return reply.status(204).send();
    },
  );
  app.delete(
    '/orgs/:orgId/members/:memberId',
    {
      schema: {
        tags: memberTags,
        operationId: 'removeMember',
        summary: 'Remove a member or cancel an invitation',
        params: OrgMemberParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeMember(request.ctx, request.params.orgId, request.params.memberId);
      return reply.status(204).send();
    },
  );
}
