/**
 * What k6's JavaScript runtime provides beyond ES2020 and @types/k6: `console` (k6 prints it
 * through its logger). Declared here because the k6 scripts are type-checked without DOM or
 * Node types on purpose: neither exists in k6.
 */
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
