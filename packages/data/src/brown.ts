/**
 * The Brown corpus is tokenised and POS-tagged: `The/at jury/nn said/vbd ``/`` no/at ''/'' ./.`
 * One sentence per line, indented by a tab, blank lines between. These turn it back into
 * readable text: tags stripped, `` and '' as double quotes, no space before closing
 * punctuation or after an opening quote or bracket.
 */

const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '?', '!', ')', ']', "''", "'"]);
const NO_SPACE_AFTER = new Set(['``', '(', '[']);

/** `word/tag` → `word`; the tag follows the last slash (words like `1/2/cd` keep theirs). */
export function stripTag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

export function detokenizeSentence(line: string): string {
  let out = '';
  let glue = true;
  for (const raw of line.trim().split(/\s+/)) {
    if (!raw) continue;
    const word = stripTag(raw);
    if (!glue && !NO_SPACE_BEFORE.has(word)) out += ' ';
    out += word === '``' || word === "''" ? '"' : word;
    glue = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** One Brown file → one paragraph of text (sentences joined by a space). */
export function brownDocumentText(tagged: string): string {
  return tagged
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map(detokenizeSentence)
    .join(' ');
}

/** Brown file names: category letter pair and number, ca01 … cr09. */
export const BROWN_FILE = /^c[a-r]\d\d$/;
