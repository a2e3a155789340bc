// URLSearchParams and a router have query() helpers too; they are not SQL.
function build(base, q) {
  const url = new URL(base);
  url.searchParams.set('q', q);
  return router.query(`page=${q}`);
}
