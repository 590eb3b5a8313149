import { type ReactNode, useId } from 'react';
import type { SettingsForm } from './completion-request.ts';

export interface PromptFormProps {
  prompt: string;
  onPrompt: (prompt: string) => void;
  settings: SettingsForm;
  onSettings: (settings: SettingsForm) => void;
  /** Show "Most you pay" (only where requests are paid for). */
  paid: boolean;
  disabled: boolean;
}

/** The prompt, and how the model samples its continuation. */
export function PromptForm(p: PromptFormProps) {
  const id = useId();
  const field = (key: keyof SettingsForm, label: string, hint: string, width = '6rem') => (
    <Field id={`${id}-${key}`} label={label} hint={hint}>
      <input id={`${id}-${key}`} value={p.settings[key]} disabled={p.disabled} style={{ width }} inputMode="decimal" onChange={(e) => p.onSettings({ ...p.settings, [key]: e.target.value })} />
    </Field>
  );
  return (
    <div className="panel">
      <label className="prompt">
        <span className="label">Prompt: the text the model continues</span>
        <textarea value={p.prompt} disabled={p.disabled} rows={3} placeholder="It was the best of times" onChange={(e) => p.onPrompt(e.target.value)} />
      </label>
      <div className="settings">
        {field('maxTokens', 'Max tokens', 'bytes of text to write at most')}
        {field('temperature', 'Temperature', '0 always picks the likeliest byte; higher is more varied')}
        {field('topP', 'Top-p', 'sample only from the likeliest bytes that make up this probability')}
        {field('topK', 'Top-k', 'sample only from this many likeliest bytes; 0 for all')}
        {field('seed', 'Seed', 'empty for random; the same seed and settings write the same text', '8rem')}
        <Field id={`${id}-stop`} label="Stop sequences" hint="one per line, at most 4; writing stops before one (\n is a newline)">
          <textarea id={`${id}-stop`} value={p.settings.stop} disabled={p.disabled} rows={2} style={{ width: '10rem' }} onChange={(e) => p.onSettings({ ...p.settings, stop: e.target.value })} />
        </Field>
        {p.paid && field('maxEth', 'Most you pay (ETH)', 'a quote above this is not paid', '8rem')}
      </div>
    </div>
  );
}

function Field({ id, label, hint, children }: { id: string; label: string; hint: string; children: ReactNode }) {
  return (
    <div className="field" title={hint}>
      <label htmlFor={id} className="label">
        {label}
      </label>
      {children}
      <span className="hint">{hint}</span>
    </div>
  );
}
