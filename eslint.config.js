// ESLint flat config: typescript-eslint's strict rules, plus the type-checked rules that catch
// promise bugs, for every workspace's sources and tests; plain JS rules for the .mjs scripts.
// Prettier owns formatting (eslint-config-prettier turns off the rules it would fight with).
// `npm run lint` checks, `npm run format` fixes.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test-results/**', 'loadtests/reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      parserOptions: {
        // one program for the Node.js code (sources and tests, as tsconfig.test.json), one each
        // for the browser page and the k6 scripts (other libs and globals); the first that
        // includes a file types it
        project: ['./waiting-room-ui/tsconfig.json', './loadtests/k6/tsconfig.json', './tsconfig.eslint.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // a promise nobody awaits or catches is a lost error or an unhandled rejection; a
      // deliberate fire-and-forget says so with `void`
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `!` is how this code marks an index proven in range on the line above (with
      // noUncheckedIndexedAccess on); a narrowing the compiler cannot see is not a bug
      '@typescript-eslint/no-non-null-assertion': 'off',
      // TypeScript's own convention: `_name` is unused on purpose (a field left out of a rest copy)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['*/test/**/*.ts', 'examples/*/test/**/*.ts', 'test-support/**/*.ts', 'chaos/**/*.ts'],
    rules: {
      // tests read arbitrary JSON bodies and browser globals (their tsconfig has no DOM lib)
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
