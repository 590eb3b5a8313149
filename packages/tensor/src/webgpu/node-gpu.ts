import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { WebGpuUnavailableError } from '../errors.ts';
import { WebGpuBackend } from './backend.ts';

/**
 * dawn.node lives exactly as long as the object `create()` returns (webgpu's README,
 * "Lifetime"). When that object is garbage-collected while a device made from it is still in
 * use, its finalizer tears the Dawn instance down underneath the device, and the next
 * dispatch or readback dies in a destroyed mutex: "The futex facility returned an unexpected
 * error code", `pthread_mutex_lock` assertions, `std::system_error: Invalid argument`, or
 * SIGSEGV. Whether it happens depends on when V8 decides to collect, which is why the crash
 * looked random, came with allocation-heavy benchmarks, and moved when logging was added.
 * See scripts/dawn-gc-repro.ts. So every instance is held here until its backend is destroyed.
 */
const liveInstances = new Set<GPU>();

/** Debian's chromium ships SwiftShader's Vulkan driver; Dawn accepts it where it refuses Mesa 22's lavapipe. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function driverConfigured(): boolean {
  return !!(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
}

let globalsInstalled = false;

async function createFrom(dawnFlags: string[]): Promise<WebGpuBackend> {
  const gpu = create(dawnFlags);
  liveInstances.add(gpu);
  try {
    return await WebGpuBackend.create(gpu, () => liveInstances.delete(gpu));
  } catch (e) {
    liveInstances.delete(gpu);
    throw e;
  }
}

/**
 * A WebGPU backend on Dawn. Uses the Vulkan driver named by VK_ICD_FILENAMES; with none named
 * and none of the system's drivers usable, falls back to SwiftShader.
 */
export async function createNodeWebGpuBackend(dawnFlags: string[] = []): Promise<WebGpuBackend> {
  if (!globalsInstalled) {
    Object.assign(globalThis, globals);
    globalsInstalled = true;
  }
  try {
    return await createFrom(dawnFlags);
  } catch (e) {
    if (!(e instanceof WebGpuUnavailableError) || driverConfigured() || !existsSync(SWIFTSHADER_ICD)) throw e;
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    return createFrom(dawnFlags);
  }
}
