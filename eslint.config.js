// ESLint (flat config): TypeScript and Vue rules, and the process boundaries:
//  - the renderer imports neither Node nor the engine (only `import type` from the contract);
//  - the engine (electron/engine, cli, store, jobs, service, server) imports neither Electron nor the DOM;
//  - electron/engine imports nothing above it (cli, store, jobs, service, server, shared, main, preload);
//  - the preload imports only electron and the shared channel names / contract types.
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'url',
  'util',
  'stream',
  'worker_threads',
  'zlib',
  'events',
  'buffer',
  'process',
];
const nodeImports = NODE_BUILTINS.flatMap((m) => [m, `${m}/*`]);
const ENGINE_DIRS = ['electron/engine', 'electron/cli', 'electron/store', 'electron/jobs', 'electron/service', 'electron/server'];

export default tseslint.config(
  // Build output, data, and git-ignored scratch folders; bench/baseline is a vendored reference implementation.
  {
    ignores: [
      'dist/**',
      'out/**',
      'release/**',
      'node_modules/**',
      'test-artifacts/**',
      'test/fixtures/**',
      'resources/**',
      't/**',
      '.gpu/**',
      '.scion-tmp/**',
      'bench/baseline/**',
      'bench/scratch/**',
      'bench-results/**',
      'demo-output/**',
    ],
  },
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.ts', '**/*.vue', '**/*.js', '**/*.mjs'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(test|it|describe)$/][callee.property.name='only']", message: 'no focused tests' },
        {
          selector: "CallExpression[callee.object.name=/^(test|it|describe)$/][callee.property.name='skip']",
          message: 'no skipped tests (skip with a reason via the options object)',
        },
      ],
      // Formatting is Prettier's job.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/html-indent': 'off',
    },
  },
  // Node everywhere outside the renderer.
  { files: ['electron/**/*.ts', 'test/**/*.ts', 'scripts/**', 'build/**', 'bin/**', '*.js'], languageOptions: { globals: { ...globals.node } } },
  // The renderer: browser globals only, no Node, no engine, nothing from electron.
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    ignores: ['renderer/vite.config.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the renderer talks to the engine only through window.scion / the WebSocket bridge' }],
          patterns: [
            { group: ['node:*', ...nodeImports], message: 'no Node in the renderer: it runs sandboxed and in a plain browser' },
            {
              group: [
                '**/electron/engine/**',
                '**/electron/cli/**',
                '**/electron/store/**',
                '**/electron/jobs/**',
                '**/electron/service/**',
                '**/electron/server/**',
                '**/electron/main/**',
                '**/electron/preload/**',
                '@tensorflow/*',
              ],
              message: 'the renderer never imports the engine: call it through the contract',
            },
            { group: ['**/electron/shared/**'], allowTypeImports: true, message: 'only `import type` from the contract' },
          ],
        },
      ],
    },
  },
  // The engine: plain Node, never Electron or the DOM.
  {
    files: ENGINE_DIRS.map((d) => `${d}/**/*.ts`),
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the engine runs without Electron (CLI, scion serve, workers): inject what you need' }],
          patterns: ['**/electron/main/**', '**/electron/preload/**', '**/renderer/**'],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'HTMLElement', 'location'].map((name) => ({
          name,
          message: 'no DOM in the engine',
        })),
      ],
    },
  },
  // The engine is the bottom layer (electron/README.md): it imports nothing above it, not even
  // the contract (the contract re-exports the engine's types, never the other way round).
  {
    files: ['electron/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the engine runs without Electron (CLI, scion serve, workers): inject what you need' }],
          patterns: [
            {
              regex: '^(\\.\\./)+(cli|store|jobs|service|server|shared|main|preload)/|(^|/)renderer/',
              message: 'the engine imports nothing above it (see electron/README.md): move the type or function down into the engine',
            },
          ],
        },
      ],
    },
  },
  // The preload: electron's contextBridge/ipcRenderer plus shared names; no Node built-ins.
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', ...nodeImports], message: 'the sandboxed preload has no Node modules' },
            {
              group: ['**/electron/engine/**', '**/electron/service/**', '**/electron/store/**', '**/electron/jobs/**'],
              message: 'the preload only forwards calls',
            },
          ],
        },
      ],
    },
  },
);
