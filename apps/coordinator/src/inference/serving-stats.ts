/** What serving has done since start-up, for the dashboard: requests, tokens, time to first token. */
export class ServingStats {
  /** Generations under way now. */
  running = 0;
  requests = 0;
  failed = 0;
  tokens = 0;
  /** Milliseconds generating, summed over requests (tokens/s = tokens / this). */
  generatingMs = 0;
  private readonly ttfts: number[] = [];

  served(tokens: number, ms: number, ttftMs: number): void {
    this.requests++;
    this.tokens += tokens;
    this.generatingMs += ms;
    this.ttfts.push(ttftMs);
    if (this.ttfts.length > 100) this.ttfts.shift();
  }

  /** Median time to first token of the last 100 requests, ms; null before any. */
  get ttftMs(): number | null {
    if (this.ttfts.length === 0) return null;
    const s = [...this.ttfts].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  get tokensPerSecond(): number | null {
    return this.generatingMs > 0 ? (this.tokens * 1000) / this.generatingMs : null;
  }
}
