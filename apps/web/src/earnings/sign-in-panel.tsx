import { signIn } from '@openshard/volunteer';
import { useEffect, useReducer, useState } from 'react';
import type { Address } from 'viem';
import { useSignMessage } from 'wagmi';
import type { WalletSession } from '../shell/session.ts';
import { plainError } from './plain-error.ts';
import { sessionState, storedSession, storeSession } from './wallet-session.ts';

/** The longest setTimeout delay browsers honour (ms); later expiries are re-checked after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sign-In with Ethereum: the session the Contribute page's volunteer needs for its work to accrue to this wallet. */
export function SignInPanel({ coordinatorUrl, address }: { coordinatorUrl: string; address: Address }) {
  const signMessage = useSignMessage();
  const [session, setSession] = useState<WalletSession | null>(storedSession);
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [, recheck] = useReducer((n: number) => n + 1, 0);

  // re-render when the session expires, so the page says so
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(recheck, Math.min(Math.max(0, session.expiresAt - Date.now()) + 50, MAX_TIMER_MS));
    return () => clearTimeout(timer);
  }, [session]);

  const signInNow = async () => {
    setPending(true);
    setProblem(null);
    try {
      const result = await signIn(coordinatorUrl, { address, signMessage: ({ message }) => signMessage.mutateAsync({ message }) });
      setSession(storeSession(result));
    } catch (e) {
      setProblem(`Sign-in failed: ${plainError(e)}`);
    } finally {
      setPending(false);
    }
  };

  const state = sessionState(session, address, Date.now());
  const signInButton = (
    <button type="button" className="primary" onClick={() => void signInNow()} disabled={pending}>
      {pending ? 'Check your wallet…' : 'Sign in with Ethereum'}
    </button>
  );

  return (
    <div className="panel">
      {state.kind === 'signed-in' && (
        <p className="ok">
          Signed in as <span data-testid="signed-in-as">{state.session.address}</span> until {new Date(state.session.expiresAt).toLocaleString()}. Volunteers you start on the Contribute page from now
          on accrue shares to this address; restart one that started before you signed in.
        </p>
      )}
      {state.kind === 'other-address' && (
        <p className="bad">
          Signed in as <span data-testid="signed-in-as">{state.session.address}</span>, not the connected wallet {address}: new work accrues to {state.session.address}. Sign in again to accrue to{' '}
          {address}. {signInButton}
        </p>
      )}
      {state.kind === 'expired' && (
        <p className="bad">
          Your sign-in as {state.session.address} expired at {new Date(state.session.expiresAt).toLocaleString()}: work contributed now accrues nothing. {signInButton}
        </p>
      )}
      {state.kind === 'none' && <p>Not signed in. Work contributed without signing in accrues nothing to any wallet: sign in, then start contributing. {signInButton}</p>}
      {problem && <p className="bad">{problem}</p>}
    </div>
  );
}
