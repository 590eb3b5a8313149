/**
 * Where the coordinator is: `?coordinator=http://host:port` in the page's address, or else the
 * page's own origin (the dev server and `npm start` proxy /socket.io to the coordinator).
 */
export function coordinatorUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('coordinator');
  if (fromQuery) {
    const url = new URL(fromQuery);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`coordinator '${fromQuery}' must be an http(s) URL`);
    return url.origin;
  }
  return location.origin;
}
