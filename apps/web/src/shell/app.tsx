import { lazy, Suspense, useRef } from 'react';
import { ContributePage } from '../contribute/contribute-page.tsx';
import { ROUTES, useRoute } from './routes.ts';

// the charting code loads only for researchers who open the dashboard
const DashboardPage = lazy(() => import('../dashboard/dashboard-page.tsx').then((m) => ({ default: m.DashboardPage })));
// and the wallet code only for those who open Earnings or the Playground
const EarningsPage = lazy(() => import('../earnings/earnings-page.tsx').then((m) => ({ default: m.EarningsPage })));
const PlaygroundPage = lazy(() => import('../playground/playground-page.tsx').then((m) => ({ default: m.PlaygroundPage })));

export function App() {
  const route = useRoute();
  const earningsOpened = useRef(false);
  const playgroundOpened = useRef(false);
  if (route === 'earnings') earningsOpened.current = true;
  if (route === 'playground') playgroundOpened.current = true;
  return (
    <>
      <header className="top">
        <a className="brand" href="#/contribute">
          OpenShard
        </a>
        <nav>
          {ROUTES.map((r) => (
            <a key={r.path} href={`#/${r.path}`} aria-current={route === r.path ? 'page' : undefined}>
              {r.title}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {/* the volunteer keeps running while its owner looks at other pages */}
        <div hidden={route !== 'contribute'}>
          <ContributePage />
        </div>
        {route === 'dashboard' && (
          <Suspense fallback={<p>Loading the dashboard…</p>}>
            <DashboardPage />
          </Suspense>
        )}
        {/* once opened, the wallet stays mounted (and connected) while its owner looks at other pages */}
        {earningsOpened.current && (
          <div hidden={route !== 'earnings'}>
            <Suspense fallback={<p>Loading the wallet…</p>}>
              <EarningsPage />
            </Suspense>
          </div>
        )}
        {/* and a generation keeps streaming in while its owner looks at other pages */}
        {playgroundOpened.current && (
          <div hidden={route !== 'playground'}>
            <Suspense fallback={<p>Loading the playground…</p>}>
              <PlaygroundPage />
            </Suspense>
          </div>
        )}
      </main>
    </>
  );
}
