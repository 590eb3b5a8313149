import { useEffect, useState } from 'react';

export const ROUTES = [
  { path: 'contribute', title: 'Contribute' },
  { path: 'dashboard', title: 'Dashboard' },
  { path: 'earnings', title: 'Earnings' },
  { path: 'playground', title: 'Playground' },
] as const;

export type Route = (typeof ROUTES)[number]['path'];

function current(): Route {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  return ROUTES.find((r) => r.path === path)?.path ?? 'contribute';
}

/** Hash routing (#/dashboard): the app is static files, any server can host it. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
