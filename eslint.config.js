import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'node_modules/**', 'coverage/**', 'examples/**/dist/**', 'test/e2e/screenshots/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['examples/**', 'bench/**', 'test/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Plain Node scripts.
    files: ['**/*.mjs', '**/*.cjs'],
    ignores: ['.dependency-cruiser.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', URL: 'readonly' } },
  },
  {
    // dependency-cruiser reads its configuration as CommonJS.
    files: ['.dependency-cruiser.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  {
    // CommonJS on purpose: the React 18 smoke test runs the package's require() entry points, in a DOM.
    files: ['scripts/react18-smoke.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', document: 'readonly', Request: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
