import { formatEth } from '../earnings/format-wei.ts';
import type { Run } from './run.ts';

type StepState = 'pending' | 'active' | 'done' | 'skipped' | 'failed';

/** What each finish reason means, for people. */
const FINISHED: Record<string, string> = { length: 'it wrote max tokens', stop: 'it met a stop sequence' };

/** One run, stage by stage: quote, payment, generation; the text as it streams in; what went wrong and what to do. */
export function RunPanel({ run, onRetryPaid }: { run: Run; onRetryPaid: () => void }) {
  const failed = run.stage === 'failed';
  // where it failed: the first stage it did not get past
  const failedAt = !failed ? null : run.payment || run.free ? 'generation' : run.quote ? 'payment' : 'quote';
  const price = run.quote ? `${formatEth(run.quote.amount, 9)} ETH (${run.quote.amount} wei)` : '';

  const quote: [StepState, string] = run.free
    ? ['done', 'Free on this network.']
    : run.quote
      ? ['done', `${price} for ${run.quote.tokens} tokens.`]
      : run.payment
        ? ['done', 'Quoted and paid before: the same request id is sent again.']
        : failedAt === 'quote'
          ? ['failed', 'Not quoted.']
          : ['active', 'Asking the coordinator for a price…'];
  const payment: [StepState, string] = run.free
    ? ['skipped', 'Not needed.']
    : run.payment
      ? ['done', `Paid ${formatEth(run.payment.amount, 9)} ETH.`]
      : failedAt === 'payment'
        ? ['failed', 'Not paid.']
        : run.stage === 'paying'
          ? ['active', `Confirm the payment of ${price} in your wallet; then it is mined…`]
          : ['pending', 'Waiting for the quote.'];
  const generation: [StepState, string] =
    run.stage === 'done'
      ? ['done', `Finished: ${FINISHED[run.finish ?? ''] ?? run.finish}.`]
      : failedAt === 'generation'
        ? ['failed', 'Stopped.']
        : run.stage === 'checking'
          ? ['active', 'Waiting for the coordinator to accept the payment…']
          : run.stage === 'streaming'
            ? ['active', 'Writing…']
            : ['pending', failed ? 'Not started.' : 'Waiting for the payment.'];

  return (
    <div className="panel" data-testid="run" data-stage={run.stage}>
      <ol className="steps">
        <Step name="Quote" step={quote} />
        <Step name="Payment" step={payment} />
        <Step name="Generation" step={generation} />
      </ol>
      {run.payment && (
        <p className="ids">
          Transaction <code data-testid="payment-tx">{run.payment.txHash}</code>
          {run.payment.blockNumber > 0n && <> in block {run.payment.blockNumber.toString()}</>}, request id <code data-testid="payment-request-id">{run.payment.requestId}</code>
        </p>
      )}
      <pre className="generation">
        <span className="muted">{run.request.prompt}</span>
        <span data-testid="generation-text" data-pieces={run.pieces} data-finish={run.finish ?? ''}>
          {run.text}
        </span>
        {run.stage === 'streaming' && <span className="cursor">▍</span>}
      </pre>
      {run.error && (
        <p className="bad" data-testid="generation-error">
          {run.error.message}{' '}
          {run.error.retryPaid && run.payment && (
            <button type="button" onClick={onRetryPaid}>
              Try again (already paid)
            </button>
          )}
        </p>
      )}
    </div>
  );
}

function Step({ name, step: [state, text] }: { name: string; step: [StepState, string] }) {
  return (
    <li className={`step ${state}`} data-testid={`step-${name.toLowerCase()}`} data-state={state}>
      <strong>{name}</strong> <span>{text}</span>
    </li>
  );
}
