// samlp (Auth0's SAML IdP middleware) ships no TypeScript declarations; the tests use this much of it.
declare module 'samlp' {
  const samlp: {
    getSamlResponse: (
      config: Record<string, unknown>,
      user: Record<string, unknown>,
      cb: (err: Error | null, xml: string) => void,
    ) => void;
  };
  export default samlp;
}
