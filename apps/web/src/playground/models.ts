/** A model the coordinator serves, as GET /v1/models lists it. */
export interface ServedModel {
  id: string;
  /** Tokens (bytes) of prompt plus completion the model reads at most. */
  contextLength: number;
}

/** The models the coordinator serves: none before its first checkpoint is committed. */
export async function fetchModels(coordinatorUrl: string, fetchImpl: typeof fetch = fetch): Promise<ServedModel[]> {
  const url = `${coordinatorUrl}/v1/models`;
  const response = await fetchImpl(url);
  const body = (await response.json().catch(() => null)) as { data?: unknown } | null;
  if (!response.ok || !Array.isArray(body?.data)) throw new Error(`${url} answered ${response.status}${body ? '' : ' without JSON: is /v1 proxied to the coordinator?'}`);
  return (body.data as unknown[]).flatMap((m) => {
    const { id, context_length } = m as { id?: unknown; context_length?: unknown };
    return typeof id === 'string' && typeof context_length === 'number' && Number.isInteger(context_length) && context_length > 0 ? [{ id, contextLength: context_length }] : [];
  });
}
