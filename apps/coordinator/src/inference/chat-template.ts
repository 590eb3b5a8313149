/** A chat message as the OpenAI API sends it (text content only). */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

const SPEAKER: Record<ChatMessage['role'], string> = { system: 'System', developer: 'System', user: 'User', assistant: 'Assistant' };

/**
 * GPT-2 has no chat template; ours is plain text, one line per message, ending where the
 * assistant speaks next:
 *   System: …\nUser: …\nAssistant: …\nUser: …\nAssistant:
 */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  return `${messages.map((m) => `${SPEAKER[m.role]}: ${m.content}\n`).join('')}Assistant:`;
}

/** The assistant's turn ends where the model starts the user's next line. */
export const CHAT_STOPS = ['\nUser:'];
