/**
 * Where the coordinator is: `?coordinator=http://host:port` in the page's address, or else the
 * page's own origin: `npm start` serves the built app from the coordinator itself, and the dev
 * server (`--dev`) proxies /socket.io and the HTTP routes to it.
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
