import type { LaunchOptions } from '@playwright/test';

/** Debian's chromium with WebGPU on SwiftShader (README, "Prerequisites" and "WebGPU in Node"). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: [
    '--enable-unsafe-webgpu',
    '--no-sandbox',
    '--disable-gpu-sandbox',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
};

/** The same browser with WebGPU off, as most browsers without a flag on Linux. */
export const chromiumWithoutWebGpu: LaunchOptions = {
  ...chromiumLaunchOptions,
  args: chromiumLaunchOptions.args!.filter((a) => a !== '--enable-unsafe-webgpu'),
};
