/** Why a message was refused; sent back to its sender in a `refused` message. */
export type ProtocolErrorCode = 'unknown-type' | 'bad-message' | 'bad-tensor' | 'non-finite' | 'too-large' | 'version' | 'not-leased' | 'stale' | 'duplicate' | 'session' | 'banned' | 'flood';

/** A message that breaks the protocol. It was not applied. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
