import type { Selectable } from 'kysely';

export type DomainStatus = 'pending' | 'verified' | 'failing' | 'expired';

export interface DomainsTable {
  id: string;
  org_id: string;
  /** ASCII (punycode) form, lower-case, no trailing dot. */
  name: string;
  unicode_name: string;
  status: DomainStatus;
  include_subdomains: number;
  /** 1: people at this domain who sign in join the organization as members. */
  auto_join: number;
  /** The challenge value. Not a secret: it is published in public DNS. */
  token: string;
  claim_key: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  verified_at: string | null;
  last_checked_at: string | null;
  last_good_check_at: string | null;
  failing_since: string | null;
  grace_until: string | null;
  expired_at: string | null;
  /** JSON of the last Diagnosis. */
  last_diagnosis: string | null;
}

export interface DomainChallengesTable {
  token: string;
  org_id: string;
  domain_id: string;
  domain_name: string;
  created_at: string;
  retired_at: string | null;
}

export interface DomainNotificationsTable {
  id: string;
  org_id: string;
  domain_id: string;
  domain_name: string;
  event: 'domain.verified' | 'domain.failing' | 'domain.expired' | 'domain.recovered';
  payload: string;
  created_at: string;
  delivered_at: string | null;
}

export interface DomainTables {
  domains: DomainsTable;
  domain_challenges: DomainChallengesTable;
  domain_notifications: DomainNotificationsTable;
}

export type Domain = Selectable<DomainsTable>;
