import { formatEth } from '../earnings/format-wei.ts';
import type { PaymentQuote } from './quote.ts';

/** Digits of ETH shown for prices: a few tokens cost a millionth of an ETH. */
const PRICE_ETH_DECIMALS = 9;

export interface QuotePanelProps {
  /** Prompt bytes and max tokens of the request as the form stands; null while it is not valid. */
  size: { promptBytes: number; maxTokens: number } | null;
  /** The quote of the current run, or of the last one. */
  quote: PaymentQuote | null;
  /** The coordinator serves without payment: no chain, or a price of 0. */
  free: boolean;
}

/** What the request costs: its size in tokens before it is quoted, then the quote itself. */
export function QuotePanel({ size, quote, free }: QuotePanelProps) {
  const tokens = size ? size.promptBytes + size.maxTokens : null;
  return (
    <div className="panel" data-testid="quote">
      {size && (
        <p>
          This request is <strong>{tokens} tokens</strong>: {size.promptBytes} bytes of prompt and up to {size.maxTokens} bytes of answer (the model reads and writes bytes: one token is one byte).
        </p>
      )}
      {free && <p className="ok">Free on this network: the coordinator asks no payment.</p>}
      {!free && !quote && <p className="muted">The coordinator quotes its price when you press Pay and generate; the quote is checked before anything is paid.</p>}
      {!free && quote && <Quote quote={quote} current={tokens === quote.tokens} />}
    </div>
  );
}

function Quote({ quote, current }: { quote: PaymentQuote; current: boolean }) {
  const expires = new Date(Number(quote.deadline) * 1000);
  return (
    <>
      <div className="grid">
        <div className="stat">
          <span className="label">Price</span>
          <span className="value" data-testid="quote-price" data-wei={quote.amount.toString()}>
            {formatEth(quote.amount, PRICE_ETH_DECIMALS)} ETH
          </span>
          <span className="muted">{quote.amount.toString()} wei</span>
        </div>
        <div className="stat">
          <span className="label">Tokens</span>
          <span className="value" data-testid="quote-tokens">
            {quote.tokens}
          </span>
          <span className="muted">at {quote.pricePerToken.toString()} wei each</span>
        </div>
        <div className="stat">
          <span className="label">Pay before</span>
          <span className="value" data-testid="quote-expiry">
            {expires.toLocaleTimeString()}
          </span>
          <span className="muted">{expires.toLocaleDateString()}</span>
        </div>
      </div>
      <p className="muted ids">
        Request id <code data-testid="quote-request-id">{quote.requestId}</code>, paid to the RevenueDistributor {quote.payTo} on chain {quote.chainId}.
        {!current && ' This quote was for the last request; the next one is quoted anew.'}
      </p>
    </>
  );
}
