// One linter (ESLint + typescript-eslint, type-aware) for the whole repository; Prettier formats.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
        Buffer: 'readonly',
      },
    },
  },
  // No function in src/ over about 80 lines (comments and blank lines not counted): a long function
  // is split into named steps with their own docstrings, as the daemon and the EC2 port are.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  // The layers (STYLE.md "The shape of the house"): only aws/ talks to the SDK; the pure core (model/
  // and the planner) imports no I/O, no AWS edge and no logger; the daemon never reaches into the CLI.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/aws/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@aws-sdk/*', '@smithy/*'], message: 'Only src/aws/ talks to the AWS SDK.' }],
        },
      ],
    },
  },
  {
    files: ['src/model/**/*.ts', 'src/reconcile/plan.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // node:crypto is allowed: a hash (the shard of a unit) is computation, not I/O.
              group: [
                'node:*',
                '!node:crypto',
                'fs',
                'fs/*',
                'path',
                'http',
                'pino',
                '@aws-sdk/*',
                '@smithy/*',
              ],
              message: 'The pure core (model/, reconcile/plan.ts) does no I/O and logs nothing.',
            },
            {
              group: ['**/aws/*', '**/logging.js', '**/events.js', '**/daemon/*', '**/cli/*', '**/policy/*'],
              message: 'The pure core imports only model/ and reconcile types.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/daemon/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'Only src/aws/ talks to the AWS SDK.' },
            {
              group: ['**/cli/*'],
              message: 'The daemon does not depend on the CLI; the CLI wires the daemon.',
            },
          ],
        },
      ],
    },
  },
);
