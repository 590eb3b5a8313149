import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import type { ChainInfo } from '../earnings/chain-info.ts';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { DEFAULT_SETTINGS, promptTokens, readRequest } from './completion-request.ts';
import { entryPayment } from './history.ts';
import { HistoryPanel } from './history-panel.tsx';
import { fetchModels } from './models.ts';
import { PromptForm } from './prompt-form.tsx';
import type { PaymentQuote } from './quote.ts';
import { QuotePanel } from './quote-panel.tsx';
import type { Payment } from './run.ts';
import { RunPanel } from './run-panel.tsx';
import { useGeneration, useHistory } from './use-generation.ts';

/** How often the page asks for the served model while there is none (ms), and after (ms). */
const MODELS_POLL_MS = 2_000;
const MODELS_REFRESH_MS = 30_000;

export interface PlaygroundProps {
  /** null: the coordinator has no chain, so requests are free. */
  chain: ChainInfo | null;
  /** Pays from the connected wallet; null while none is connected (on the coordinator's chain). */
  pay: ((q: PaymentQuote) => Promise<Payment>) | null;
  wallet: ReactNode;
}

/** The prompt and its settings, the price, one button, the text as it streams, and the history. */
export function Playground({ chain, pay, wallet }: PlaygroundProps) {
  const url = coordinatorUrl();
  const models = useQuery({
    queryKey: ['models', url],
    queryFn: () => fetchModels(url),
    refetchInterval: (q) => (q.state.data?.length ? MODELS_REFRESH_MS : MODELS_POLL_MS),
  });
  const model = models.data?.[0];
  const [prompt, setPrompt] = useState('');
  const [settings, setSettings] = useState(DEFAULT_SETTINGS);
  const history = useHistory();
  const { run, active, start } = useGeneration({ url, chain, pay, record: history.record });

  const read = model ? readRequest(model.id, model.contextLength, prompt, settings) : null;
  // without a chain nothing can be paid; on one, the coordinator may still price requests at 0
  const free = chain === null || (run?.free ?? false);
  const blocked = !model
    ? models.error
      ? `Could not ask the coordinator for its model: ${models.error.message}`
      : 'No model is served yet: the network serves its first checkpoint a few rounds after training starts. This page checks again by itself.'
    : !read?.ok
      ? prompt === ''
        ? 'Write a prompt first.'
        : 'Fix the settings above first.'
      : active
        ? null
        : !free && !pay
          ? "Connect a wallet (above) on the coordinator's chain to pay for the request."
          : null;
  const size = read?.ok ? { promptBytes: promptTokens(prompt), maxTokens: read.request.max_tokens } : null;

  return (
    <>
      <p className="muted" data-testid="model">
        {model ? `Model ${model.id}: reads and writes at most ${model.contextLength} tokens in all.` : 'Asking the coordinator which model it serves…'}
      </p>
      {wallet}
      <h2>Prompt</h2>
      <PromptForm prompt={prompt} onPrompt={setPrompt} settings={settings} onSettings={setSettings} paid={!free} disabled={active} />
      {read && !read.ok && prompt !== '' && (
        <ul className="bad" data-testid="settings-problems">
          {read.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
      <h2>Price</h2>
      <QuotePanel size={size} quote={run?.quote ?? null} free={free} />
      <p>
        <button type="button" className="primary" disabled={blocked !== null || active} onClick={() => read?.ok && start(read)}>
          {active ? 'Working…' : free ? 'Generate' : 'Pay and generate'}
        </button>{' '}
        {blocked && <span className="muted">{blocked}</span>}
      </p>
      {run && (
        <RunPanel
          run={run}
          onRetryPaid={() => run.payment && start({ request: run.request, tokens: run.tokens, maxWei: 0n }, { id: run.id, time: run.startedAt, payment: run.payment, quote: run.quote })}
        />
      )}
      <h2>History</h2>
      <p className="muted">Requests from this browser, kept in its local storage.</p>
      <HistoryPanel
        entries={history.entries}
        busy={active}
        onRetryPaid={(e) => {
          const payment = entryPayment(e);
          if (payment) start({ request: e.request, tokens: e.tokens, maxWei: 0n }, { id: e.id, time: e.time, payment, quote: null });
        }}
        onClear={history.clear}
      />
    </>
  );
}
