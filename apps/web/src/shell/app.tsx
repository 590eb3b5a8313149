import { lazy, Suspense } from 'react';
import { ContributePage } from '../contribute/contribute-page.tsx';
import { ROUTES, useRoute } from './routes.ts';

// the charting code loads only for researchers who open the dashboard
const DashboardPage = lazy(() => import('../dashboard/dashboard-page.tsx').then((m) => ({ default: m.DashboardPage })));

export function App() {
  const route = useRoute();
  return (
    <>
      <header className="top">
        <a className="brand" href="#/contribute">OpenShard</a>
        <nav>
          {ROUTES.map((r) => (
            <a key={r.path} href={`#/${r.path}`} aria-current={route === r.path ? 'page' : undefined}>{r.title}</a>
          ))}
        </nav>
      </header>
      <main>
        {/* the volunteer keeps running while its owner looks at other pages */}
        <div hidden={route !== 'contribute'}><ContributePage /></div>
        {route === 'dashboard' && <Suspense fallback={<p>Loading the dashboard…</p>}><DashboardPage /></Suspense>}
        {route === 'earnings' && <NotYet title="Earnings" what="Connecting a wallet, signing in, and claiming your share of the model's revenue" />}
        {route === 'playground' && <NotYet title="Playground" what="Trying the model you help train" />}
      </main>
    </>
  );
}

function NotYet({ title, what }: { title: string; what: string }) {
  return (
    <section>
      <h1>{title}</h1>
      <p>{what} is not built yet. Work you contribute now is recorded by the coordinator with your volunteer name.</p>
    </section>
  );
}
