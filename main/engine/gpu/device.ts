/**
 * Getting a WebGPU device from an injected `GPU` object (Dawn's `webgpu` package in a Node worker,
 * or `navigator.gpu` in Chromium). Storage limits are raised to what the adapter allows, because
 * scenes of millions of Gaussians need large buffers.
 */
import { SagaError } from '../../contract/errors.ts';

export interface GpuDeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Called when the device is lost (driver reset, process teardown). */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

export interface GpuDeviceHandle {
  device: GPUDevice;
  /**
   * Keep these referenced for as long as the device lives: with Dawn's node bindings, a garbage
   * collected GPU/adapter object tears down the instance under a live device (seen here as a
   * pthread mutex assertion a moment after the first idle period).
   */
  gpu: GPU;
  adapter: GPUAdapter;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
}

export async function requestGpuDevice(gpu: GPU, options: GpuDeviceOptions = {}): Promise<GpuDeviceHandle> {
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new SagaError('NO_GPU_ADAPTER', 'no WebGPU adapter: install a Vulkan driver such as mesa-vulkan-drivers');
  }
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: Math.min(limits.maxComputeInvocationsPerWorkgroup, 256),
      maxComputeWorkgroupSizeX: Math.min(limits.maxComputeWorkgroupSizeX, 256),
      maxComputeWorkgroupSizeY: Math.min(limits.maxComputeWorkgroupSizeY, 256),
    },
  });
  if (options.onLost) void device.lost.then(options.onLost);
  const info = adapter.info;
  return {
    device,
    gpu,
    adapter,
    adapterInfo: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
  };
}

/** Turns a pending validation/out-of-memory error scope into a SagaError (GPU_ERROR). */
export async function checkGpuErrors(device: GPUDevice, what: string): Promise<void> {
  const error = await device.popErrorScope();
  if (error) {
    throw new SagaError('GPU_ERROR', `GPU failed while ${what}: ${error.message}. Try a smaller output size or scene.`, {
      what,
    });
  }
}
