import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import lockstep from './eslint-rules/index.js';

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless/', '.esbuild/', '.data/', 'drizzle/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { lockstep },
    rules: {
      // The get-or-create ADR: a unique index decides, never a select then an insert.
      'lockstep/no-find-then-create': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'`: the named import doubles the bundle.",
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'functions/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.ts.' },
      ],
    },
  },
  {
    // serverless.yml's variable files are loaded with require().
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __filename: 'readonly' } },
  },
  {
    files: ['src/config.ts', 'tests/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-properties': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
