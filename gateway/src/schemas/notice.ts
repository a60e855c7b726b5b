import { Type } from 'typebox';
import { DateTime, Nullable, StringEnum } from './common.js';

/** A sale's notice (sales/sale-notice.ts): plain text, shown as text, never as HTML. */
export const NoticeSchema = Type.Object(
  {
    message: Type.String({ description: 'plain text, up to 500 characters' }),
    level: StringEnum(['info', 'warning']),
    at: DateTime,
  },
  { description: "the marketer's message to every page of the sale (absent: none)" },
);

export const NoticeBody = Type.Object(
  {
    message: Type.String({ description: 'plain text, 1 to 500 characters after trimming, no control characters but line breaks' }),
    level: Type.Optional(Type.String({ description: "'info' (the default) or 'warning'" })),
  },
  { additionalProperties: false },
);

export const NoticeAnswer = Type.Object({ notice: Nullable(NoticeSchema) });
