// Lint rules. The determinism rules are the reason this file exists: simulated code (everything
// under src/ except the real-socket host and the CLI) may not read a clock or a random source.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nondeterministicGlobals = [
  { name: 'Date', message: 'No wall clock in simulated code: use the node host clock (virtual time).' },
  { name: 'setTimeout', message: 'No real timers in simulated code: use the injected clock.' },
  { name: 'setInterval', message: 'No real timers in simulated code: use the injected clock.' },
  { name: 'setImmediate', message: 'No real timers in simulated code: use the injected clock.' },
  { name: 'performance', message: 'No wall clock in simulated code.' },
];

const nondeterministicSyntax = [
  {
    selector: "MemberExpression[object.name='Math'][property.name='random']",
    message: 'No Math.random in simulated code: draw from a seeded Prng stream.',
  },
  {
    selector: "MemberExpression[object.name='crypto'][property.name=/^random/]",
    message: 'No crypto randomness in simulated code: draw from a seeded Prng stream.',
  },
  {
    selector: "MemberExpression[object.name='process'][property.name='hrtime']",
    message: 'No wall clock in simulated code.',
  },
  {
    selector: "MemberExpression[object.name='Date'][property.name='now']",
    message: 'No wall clock in simulated code.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'viz/dist/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    // The real host, the CLI, the bench and the viewer server run on the wall clock; the conformance
    // SocketPeer waits on real sockets with wall-clock timeouts, like src/real/.
    ignores: [
      'src/real/**',
      'src/cli/**',
      'src/bench/**',
      'src/view/**',
      'src/conformance/socket-peer.ts',
      'src/conformance/robustness.ts',
    ],
    rules: {
      'no-restricted-globals': ['error', ...nondeterministicGlobals],
      'no-restricted-syntax': ['error', ...nondeterministicSyntax],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:crypto',
              importNames: ['randomBytes', 'randomUUID', 'randomInt', 'getRandomValues'],
              message: 'No crypto randomness in simulated code.',
            },
            { name: 'node:timers', message: 'No real timers in simulated code.' },
            { name: 'node:perf_hooks', message: 'No wall clock in simulated code.' },
          ],
        },
      ],
    },
  },
  {
    files: ['viz/**/*.ts', 'viz/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
