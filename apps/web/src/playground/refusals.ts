import type { ApiError } from './quote.ts';
import type { RunFailure } from './run.ts';

/**
 * What to tell the user when the coordinator refuses a request, by its error code: the
 * coordinator's own message, and what to do next. `paid`: this request id was paid for.
 */
export function explainRefusal(status: number, e: ApiError, paid: boolean): RunFailure {
  const kept = (what: string): RunFailure => ({ message: `${what} Your payment is kept: press "Try again (already paid)".`, retryPaid: paid });
  const redo = (what: string): RunFailure => ({ message: `${what} Press "Pay and generate" for a new quote.`, retryPaid: false });
  switch (e.code) {
    case 'payment_not_found':
      return kept(`The coordinator does not see the payment yet (${e.message}). Wait for another block, then try again.`);
    case 'request_in_progress':
      return kept(`This paid request is being generated right now, perhaps in another tab (${e.message}). Wait for it to finish before trying again.`);
    case 'payment_already_used':
      return redo(`This payment has bought a generation already (${e.message}).`);
    case 'quote_expired':
      return redo(`The quote expired before it was paid; nothing was paid (${e.message}).`);
    case 'payment_insufficient':
      return redo(`The payment does not cover the quote (${e.message}).`);
    case 'unknown_request_id':
      return redo(`The coordinator does not know this request id: it may be another coordinator, or the id is too old (${e.message}).`);
    case 'quote_mismatch':
      return redo(`The request differs from the one quoted (${e.message}).`);
    case 'invalid_payment_id':
      return redo(`The payment id was refused (${e.message}).`);
    case 'model_not_found':
      return { message: `${e.message}. Reload the page to use the model this network serves.`, retryPaid: paid };
    case 'model_not_ready':
      return { message: `${e.message}. This page notices the first checkpoint by itself; try again then.`, retryPaid: paid };
  }
  if (status === 400 || status === 413) {
    return {
      message: `The coordinator refused the request${e.param ? ` (setting ${e.param})` : ''}: ${e.message}. Change it and try again${paid ? '; your payment is kept only for the request as quoted' : ''}.`,
      retryPaid: false,
    };
  }
  if (status >= 500)
    return paid ? kept(`The coordinator failed (${status}: ${e.message}).`) : { message: `The coordinator failed (${status}: ${e.message}). Try again in a moment.`, retryPaid: false };
  return { message: `The coordinator answered ${status}: ${e.message}.`, retryPaid: paid };
}
