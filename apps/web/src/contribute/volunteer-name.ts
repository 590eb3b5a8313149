const KEY = 'openshard.volunteer-name';

/** This tab's volunteer name: kept across reloads of the tab, different in every tab. */
export function tabVolunteerName(): string {
  const saved = sessionStorage.getItem(KEY);
  if (saved) return saved;
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  const name = `tab-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  sessionStorage.setItem(KEY, name);
  return name;
}

export function saveVolunteerName(name: string): void {
  sessionStorage.setItem(KEY, name);
}

/** The coordinator accepts names of 1–64 characters. */
export function volunteerNameProblem(name: string): string | null {
  const n = name.trim();
  if (n.length === 0) return 'a name is needed';
  if (n.length > 64) return `the name is ${n.length} characters; at most 64`;
  return null;
}
