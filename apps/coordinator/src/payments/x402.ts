import type { PaymentGate, PaymentRefusal } from './payment-gate.ts';
import { PAY_METHOD, PAYMENT_HEADER } from './payment-gate.ts';

/** x402 names native ETH by the zero address; the scheme says the payment is a call, not a token transfer. */
const NATIVE = '0x0000000000000000000000000000000000000000';

/**
 * The body of a 402 (or 409), shaped like an x402 v2 "payment required" answer (`x402Version`,
 * `accepts[]`), with the OpenAI API's `error` object, so OpenAI clients raise a readable error and
 * x402-style clients find what to pay: the amount to `pay(requestId, deadline)` on the distributor.
 */
export function paymentRequiredBody(r: PaymentRefusal, gate: PaymentGate, resource: string) {
  const q = r.quote;
  const accepts = q
    ? [
        {
          scheme: 'exact-native',
          network: gate.network,
          amount: q.amount.toString(),
          asset: NATIVE,
          payTo: gate.payTo,
          maxTimeoutSeconds: Math.max(0, Math.floor((q.expiresAt - Date.now()) / 1000)),
          extra: {
            requestId: q.requestId,
            deadline: Math.floor(q.expiresAt / 1000),
            expiresAt: new Date(q.expiresAt).toISOString(),
            method: PAY_METHOD,
            tokens: q.tokens,
            pricePerToken: gate.policy.pricePerToken.toString(),
            header: PAYMENT_HEADER,
            model: q.model,
          },
        },
      ]
    : [];
  return {
    x402Version: 2,
    error: { message: r.message, type: r.status === 402 ? 'payment_required' : 'conflict', param: null, code: r.code },
    resource: { url: resource, description: 'text generation by the OpenShard protocol model', mimeType: 'application/json' },
    accepts,
  };
}
