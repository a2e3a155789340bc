import { Outlet } from 'react-router';
import { ApiErrorAlert } from './errors';
import { useOrg, useOrgId } from './orgs';

/** Every page of one organization: the organization must load (no access shows the API's answer). */
export function OrgLayout() {
  const orgId = useOrgId();
  const org = useOrg(orgId);
  if (org.isError) return <ApiErrorAlert error={org.error} title="This organization could not be opened" />;
  return <Outlet />;
}
