/**
 * The check that a translated page has no English left (issue 15 item 5): the English literal
 * pieces of the shopper catalogue (between placeholders) that a language's texts do not share,
 * looked for in what a page shows. Used by the shopper page's browser test and by the
 * gateway's own pages' tests (the page without JavaScript, the refusals).
 */
import { CATALOGUES, type Language, type TextKey } from '../src/catalogue.js';
import { placeholders } from '../src/shopper-text.js';

/** English literal pieces of the catalogue (between placeholders) that a translation must not show */
export function englishPieces(lang: Language): string[] {
  const pieces = new Set<string>();
  const ours = Object.values(CATALOGUES[lang]).join('\n');
  for (const [key, value] of Object.entries(CATALOGUES.en) as [TextKey, string][]) {
    if (CATALOGUES[lang][key] === value) continue;
    let rest = value;
    for (const p of placeholders(value)) rest = rest.replace(`{${p}}`, '\u0000');
    for (const piece of rest.split('\u0000').map((s) => s.trim())) {
      // a piece of punctuation or one short word says nothing; a piece the translation shares is not English
      if (piece.replace(/[^\p{L}]/gu, '').length >= 4 && !ours.includes(piece)) pieces.add(piece);
    }
  }
  return [...pieces];
}

/** the pieces of English found in `seen` (what a page in `lang` shows) */
export const englishLeft = (lang: Language, seen: string): string[] => englishPieces(lang).filter((piece) => seen.includes(piece));
