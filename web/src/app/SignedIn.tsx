import { RequireSession } from './RequireSession';
import { Shell } from './Shell';

/** The frame of every page behind sign-in (a chunk of its own, see App.tsx). */
export default function SignedIn() {
  return (
    <RequireSession>
      <Shell />
    </RequireSession>
  );
}
