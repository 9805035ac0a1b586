// The route's query without one of its keys (a filter's tag closed, a
// drawer kept in the query closed).
export function dropQuery(router, route, key) {
  const { [key]: _, ...rest } = route.query;
  return router.replace({ query: rest });
}
