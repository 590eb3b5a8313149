import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './packages/tensor/test/browser/chromium.ts';

export default defineConfig({
  testMatch: ['packages/*/test/**/*.spec.ts', 'apps/*/test/**/*.spec.ts'],
  timeout: 300_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  use: { launchOptions: chromiumLaunchOptions, browserName: 'chromium' },
});
