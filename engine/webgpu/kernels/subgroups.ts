// Whether the decode kernels may use subgroup operations (WebGpuEngineOptions.decodeSubgroups): the device has the
// `subgroups` feature, and subgroups are made of consecutive local invocation indices (lane = index mod size),
// which the GEMV's row reductions assume (kernels/gemv.ts) and WGSL does not promise. Checked once per device by a
// probe kernel that records each invocation's subgroup lane and size.

const THREADS = 256;
const probeWgsl = /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  out[2u * lid] = lane;
  out[2u * lid + 1u] = size;
}`;

const verdicts = new WeakMap<GPUDevice, Promise<boolean>>();

export function subgroupsUsable(device: GPUDevice): Promise<boolean> {
  let v = verdicts.get(device);
  if (!v) verdicts.set(device, (v = probe(device)));
  return v;
}

async function probe(device: GPUDevice): Promise<boolean> {
  if (!device.features.has('subgroups')) return false;
  const bytes = 2 * THREADS * 4;
  const out = device.createBuffer({ label: 'subgroup probe', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ label: 'subgroup probe read', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    device.pushErrorScope('validation');
    const pipeline = device.createComputePipeline({
      label: 'subgroup probe',
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: probeWgsl }), entryPoint: 'main' },
    });
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
    const e = device.createCommandEncoder();
    const pass = e.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    e.copyBufferToBuffer(out, 0, read, 0, bytes);
    device.queue.submit([e.finish()]);
    if (await device.popErrorScope()) return false;
    await read.mapAsync(GPUMapMode.READ);
    const r = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    const size = r[1];
    // One power-of-two size dividing the workgroup, lanes in index order.
    if (size < 1 || size > THREADS || (size & (size - 1)) !== 0) return false;
    for (let i = 0; i < THREADS; i++) if (r[2 * i] !== i % size || r[2 * i + 1] !== size) return false;
    return true;
  } finally {
    out.destroy();
    read.destroy();
  }
}
