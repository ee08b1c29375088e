import {copyFileSync, chmodSync, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {
  cudaId,
  discoverGpus,
  type Gpu,
  GpuPool,
  gpuProbe,
  NVIDIA_SMI_ARGS,
  parseDvGpus,
  parseNvidiaSmiCsv,
} from '../../src/pipeline/gpus.js'
import {PROJECT, tempDir} from '../helpers.js'

const FAKE = join(PROJECT, 'test', 'fixtures-gpu', 'nvidia-smi')
const SYSTEM_PATH = '/usr/bin:/bin'

/** A directory holding the fake nvidia-smi (copied, so its mode does not depend on git). */
function fakeSmiDir(): string {
  const dir = tempDir()
  copyFileSync(FAKE, join(dir, 'nvidia-smi'))
  chmodSync(join(dir, 'nvidia-smi'), 0o755)
  return dir
}

/** An environment whose PATH finds the fake nvidia-smi first, and nothing else of the caller's. */
function fakeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {PATH: `${fakeSmiDir()}:${SYSTEM_PATH}`, ...extra}
}

const uuid = (i: number): string => `GPU-00000000-0000-0000-0000-${String(i).padStart(12, '0')}`

function gpu(index: number, withUuid = true): Gpu {
  return {index, uuid: withUuid ? uuid(index) : '', name: `G${index}`, memoryTotalMiB: 1000, memoryUsedMiB: 0}
}

/** Lets pending promise callbacks run. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('nvidia-smi output', () => {
  it('parses what a real nvidia-smi printed (driver on an H100 80GB HBM3, captured byte for byte)', () => {
    expect(parseNvidiaSmiCsv('0, GPU-0063a105-626d-b969-2c9a-e695d80e3134, NVIDIA H100 80GB HBM3, 81559, 0\n')).toEqual([
      {index: 0, uuid: 'GPU-0063a105-626d-b969-2c9a-e695d80e3134', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0},
    ])
  })

  it('parses the csv,noheader,nounits lines, with [N/A], extra whitespace, CRLF and blank lines', () => {
    const text =
      '0, GPU-8fe3a97d-51f6-a669-0d80-b4530b81b816, NVIDIA GeForce RTX 3080, 10240, 1211\r\n' +
      '\n' +
      '  1 ,  GPU-aaaaaaaa-0000-1111-2222-333333333333 ,NVIDIA H100 80GB HBM3,81559,[N/A]  \n' +
      '2, [N/A], [Not Supported], [N/A], [N/A]\n' +
      'WARNING: infoROM is corrupted at gpu 0000:01:00.0\n'
    expect(parseNvidiaSmiCsv(text)).toEqual([
      {index: 0, uuid: 'GPU-8fe3a97d-51f6-a669-0d80-b4530b81b816', name: 'NVIDIA GeForce RTX 3080', memoryTotalMiB: 10240, memoryUsedMiB: 1211},
      {index: 1, uuid: 'GPU-aaaaaaaa-0000-1111-2222-333333333333', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: NaN},
      {index: 2, uuid: '', name: '', memoryTotalMiB: NaN, memoryUsedMiB: NaN},
    ])
  })
})

describe('discoverGpus', () => {
  it('runs the documented query through the nvidia-smi on env.PATH', () => {
    const args = join(tempDir(), 'args')
    const env = fakeEnv({FAKE_GPU_COUNT: '2', FAKE_SMI_ARGS: args})
    expect(discoverGpus(env)).toEqual([
      {index: 0, uuid: uuid(0), name: 'Fake GPU 0', memoryTotalMiB: 81559, memoryUsedMiB: 0},
      {index: 1, uuid: uuid(1), name: 'Fake GPU 1', memoryTotalMiB: 81559, memoryUsedMiB: 0},
    ])
    expect(readFileSync(args, 'utf8').trim()).toBe(NVIDIA_SMI_ARGS.join(' '))
    expect(NVIDIA_SMI_ARGS.join(' ')).toBe(
      '--query-gpu=index,uuid,name,memory.total,memory.used --format=csv,noheader,nounits',
    )
    expect(gpuProbe(env).note).toBeUndefined()
  })

  it('finds no GPUs, without error, when nvidia-smi is not on PATH', () => {
    const env = {PATH: tempDir()}
    expect(discoverGpus(env)).toEqual([])
    expect(gpuProbe(env)).toEqual({gpus: [], note: 'nvidia-smi: not found on PATH'})
  })

  it('finds no GPUs when nvidia-smi fails, and keeps its reason', () => {
    const env = fakeEnv({
      FAKE_SMI_EXIT: '9',
      FAKE_SMI_MESSAGE:
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
    })
    expect(discoverGpus(env)).toEqual([])
    expect(gpuProbe(env).note).toBe(
      "nvidia-smi: exit 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
    )
    expect(gpuProbe(fakeEnv({FAKE_GPU_COUNT: '0'}))).toEqual({gpus: [], note: 'nvidia-smi: exit 6: No devices were found'})
    expect(gpuProbe(fakeEnv({FAKE_SMI_EXIT: '18'})).note).toBe('nvidia-smi: exit 18')
  })

  it('gives up on an nvidia-smi that hangs', () => {
    const started = Date.now()
    const probe = gpuProbe(fakeEnv({FAKE_SMI_SLEEP: '20'}), 300)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(probe).toEqual({gpus: [], note: 'nvidia-smi: no answer within 0.3 s'})
  })

  it('finds no GPUs when nvidia-smi succeeds with nothing parseable', () => {
    expect(gpuProbe(fakeEnv({FAKE_GPUS: 'garbage'}))).toEqual({gpus: [], note: 'nvidia-smi: listed no GPUs (garbage)'})
  })
})

describe('DV_GPUS', () => {
  it('parses none or comma-separated indices, and rejects anything else', () => {
    expect(parseDvGpus('none')).toEqual([])
    expect(parseDvGpus(' NONE ')).toEqual([])
    expect(parseDvGpus('0,1,3')).toEqual([0, 1, 3])
    expect(parseDvGpus(' 3 , 1,3 ')).toEqual([3, 1])
    for (const bad of ['0,,1', '-1', '1.5', 'GPU-1234', 'all', '0;1', '1,']) {
      expect(() => parseDvGpus(bad), bad).toThrow(expect.objectContaining({code: 'ECONFIG'}))
    }
    expect(() => discoverGpus(fakeEnv({DV_GPUS: 'all', FAKE_GPU_COUNT: '2'}))).toThrow(/DV_GPUS=all: expected 'none'/)
  })

  it('none: no GPUs, and nvidia-smi is not run', () => {
    const args = join(tempDir(), 'args')
    expect(gpuProbe(fakeEnv({DV_GPUS: 'none', FAKE_GPU_COUNT: '4', FAKE_SMI_ARGS: args}))).toEqual({gpus: [], note: 'DV_GPUS=none'})
    expect(existsSync(args)).toBe(false)
  })

  it('picks the listed GPUs, in its order, and wins over CUDA_VISIBLE_DEVICES', () => {
    const probe = gpuProbe(fakeEnv({DV_GPUS: '3,1', FAKE_GPU_COUNT: '4', CUDA_VISIBLE_DEVICES: '0'}))
    expect(probe.gpus.map((g) => [g.index, g.uuid])).toEqual([
      [3, uuid(3)],
      [1, uuid(1)],
    ])
    expect(probe.note).toBe('DV_GPUS=3,1')
  })

  it('names GPUs nvidia-smi does not list by index, with or without nvidia-smi', () => {
    const probe = gpuProbe(fakeEnv({DV_GPUS: '1,7', FAKE_GPU_COUNT: '2'}))
    expect(probe.gpus.map(cudaId)).toEqual([uuid(1), '7'])
    expect(probe.gpus[1]).toEqual({index: 7, uuid: '', name: '', memoryTotalMiB: NaN, memoryUsedMiB: NaN})
    expect(probe.note).toBe('DV_GPUS=1,7; nvidia-smi does not list GPU 7')

    const bare = gpuProbe({PATH: tempDir(), DV_GPUS: '0,2'})
    expect(bare.gpus.map(cudaId)).toEqual(['0', '2'])
    expect(bare.note).toBe('DV_GPUS=0,2; nvidia-smi: not found on PATH')
  })

  it('blank DV_GPUS counts as unset', () => {
    expect(discoverGpus(fakeEnv({DV_GPUS: '  ', FAKE_GPU_COUNT: '2'}))).toHaveLength(2)
  })
})

describe('CUDA_VISIBLE_DEVICES', () => {
  it('limits to the indices it lists, in its order', () => {
    const probe = gpuProbe(fakeEnv({FAKE_GPU_COUNT: '4', CUDA_VISIBLE_DEVICES: '2,0'}))
    expect(probe.gpus.map((g) => g.index)).toEqual([2, 0])
    // Children get physical ids (UUIDs), never the renumbered 0,1 a CUDA process sees.
    expect(probe.gpus.map(cudaId)).toEqual([uuid(2), uuid(0)])
    expect(probe.note).toBe('CUDA_VISIBLE_DEVICES=2,0 limits dv to 2 of 4 GPUs')
  })

  it('limits to the UUIDs it lists, whole or as an unambiguous prefix', () => {
    const gpus = [
      '0, GPU-8932f937-d72c-4106-c12f-20bd9faed9f6, NVIDIA A100-SXM4-80GB, 81920, 3',
      '1, GPU-11111111-d72c-4106-c12f-20bd9faed9f6, NVIDIA A100-SXM4-80GB, 81920, 3',
      '2, GPU-8932aaaa-d72c-4106-c12f-20bd9faed9f6, NVIDIA A100-SXM4-80GB, 81920, 3',
    ].join('\n')
    const whole = discoverGpus(fakeEnv({FAKE_GPUS: gpus, CUDA_VISIBLE_DEVICES: 'GPU-11111111-d72c-4106-c12f-20bd9faed9f6'}))
    expect(whole.map((g) => g.index)).toEqual([1])
    const prefix = discoverGpus(fakeEnv({FAKE_GPUS: gpus, CUDA_VISIBLE_DEVICES: 'GPU-8932a, GPU-8932f'}))
    expect(prefix.map((g) => g.index)).toEqual([2, 0])
    // GPU-8932 matches two GPUs: the list ends there.
    const ambiguous = gpuProbe(fakeEnv({FAKE_GPUS: gpus, CUDA_VISIBLE_DEVICES: '1,GPU-8932,2'}))
    expect(ambiguous.gpus.map((g) => g.index)).toEqual([1])
    expect(ambiguous.note).toBe(
      "CUDA_VISIBLE_DEVICES=1,GPU-8932,2 limits dv to 1 of 3 GPUs ('GPU-8932' names no GPU nvidia-smi lists; entries from it on are ignored)",
    )
  })

  it('ends at the first invalid entry, as CUDA does', () => {
    const probe = gpuProbe(fakeEnv({FAKE_GPU_COUNT: '3', CUDA_VISIBLE_DEVICES: '0,2,-1,1'}))
    expect(probe.gpus.map((g) => g.index)).toEqual([0, 2])
    const none = gpuProbe(fakeEnv({FAKE_GPU_COUNT: '3', CUDA_VISIBLE_DEVICES: 'NoDevFiles'}))
    expect(none.gpus).toEqual([])
    expect(none.note).toMatch(/^CUDA_VISIBLE_DEVICES=NoDevFiles leaves dv no GPUs \(nvidia-smi lists 3 GPUs\)/)
  })

  it('empty means no GPUs', () => {
    expect(gpuProbe(fakeEnv({FAKE_GPU_COUNT: '2', CUDA_VISIBLE_DEVICES: ''}))).toEqual({
      gpus: [],
      note: 'CUDA_VISIBLE_DEVICES is empty: leaves dv no GPUs (nvidia-smi lists 2 GPUs)',
    })
  })
})

describe('GpuPool', () => {
  it('hands out GPUs with their UUIDs (else indices) for CUDA_VISIBLE_DEVICES; release is idempotent', async () => {
    const pool = new GpuPool([gpu(0), gpu(1, false), gpu(2)])
    const a = await pool.acquire(2, 'a')
    expect(a.gpus.map((g) => g.index)).toEqual([0, 1])
    expect(a.cudaVisibleDevices).toBe(`${uuid(0)},1`)
    expect(pool.available).toBe(1)
    a.release()
    a.release()
    expect(pool.available).toBe(3)
    const b = await pool.acquire(3, 'b')
    expect(b.gpus).toHaveLength(3)
    a.release() // a stale lease must not free b's GPUs
    expect(pool.available).toBe(0)
    b.release()
    expect(pool.available).toBe(3)
  })

  it('0 GPUs: resolves at once with no GPUs and no CUDA_VISIBLE_DEVICES, even on a machine without any', async () => {
    const lease = await new GpuPool([]).acquire(0, 'prep')
    expect(lease.gpus).toEqual([])
    expect(lease.cudaVisibleDevices).toBeUndefined()
    lease.release()
  })

  it('rejects at once a stage that needs more GPUs than there are, naming it and why', async () => {
    const pool = new GpuPool([gpu(0), gpu(1)], 'CUDA_VISIBLE_DEVICES=0,1 limits dv to 2 of 8 GPUs')
    await expect(pool.acquire(4, 'train')).rejects.toMatchObject({
      code: 'ENOGPU',
      exitCode: 1,
      message: "stage 'train' needs 4 GPUs but this machine has 2 (CUDA_VISIBLE_DEVICES=0,1 limits dv to 2 of 8 GPUs)",
    })
    const none = GpuPool.fromProbe(gpuProbe({PATH: tempDir()}))
    await expect(none.acquire(1, 'train')).rejects.toThrow(
      "stage 'train' needs 1 GPU but this machine has none (nvidia-smi: not found on PATH)",
    )
    await expect(pool.acquire(1.5, 'train')).rejects.toMatchObject({code: 'EGPUCOUNT'})
    expect(pool.waiting).toBe(0)
  })

  it('serves requests first come, first served: a request for 2 is not starved by requests for 1', async () => {
    const pool = new GpuPool([gpu(0), gpu(1)])
    const order: string[] = []
    const a = await pool.acquire(1, 'a')
    const big = pool.acquire(2, 'big').then((l) => (order.push('big'), l))
    const smalls = [1, 2, 3].map((i) => pool.acquire(1, `s${i}`).then((l) => (order.push(`s${i}`), l)))
    await flush()
    // One GPU is free, but the request for 2 came first: the requests for 1 wait behind it.
    expect(order).toEqual([])
    expect(pool.available).toBe(1)
    expect(pool.waiting).toBe(4)
    a.release()
    const bigLease = await big
    expect(order).toEqual(['big'])
    bigLease.release()
    await flush()
    expect(order).toEqual(['big', 's1', 's2'])
    ;(await smalls[0]).release()
    await flush()
    expect(order).toEqual(['big', 's1', 's2', 's3'])
    for (const s of smalls.slice(1)) (await s).release()
    expect(pool.available).toBe(2)
  })

  it('an aborted request rejects with the signal reason and stops holding the line', async () => {
    const pool = new GpuPool([gpu(0), gpu(1)])
    const a = await pool.acquire(1, 'a')
    const ac = new AbortController()
    const big = pool.acquire(2, 'big', ac.signal)
    let small: Awaited<ReturnType<GpuPool['acquire']>> | undefined
    const smallP = pool.acquire(1, 'small').then((l) => (small = l))
    await flush()
    expect(small).toBeUndefined()
    ac.abort(new Error('pipeline failed'))
    await expect(big).rejects.toThrow('pipeline failed')
    await smallP
    expect(small!.gpus.map((g) => g.index)).toEqual([1])
    expect(pool.waiting).toBe(0)

    // Already aborted: rejects at once, takes nothing.
    await expect(pool.acquire(1, 'late', AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late')
    // Aborting after the grant changes nothing: the lease stays the caller's.
    a.release()
    const ac2 = new AbortController()
    const c = await pool.acquire(1, 'c', ac2.signal)
    ac2.abort()
    expect(pool.available).toBe(0)
    c.release()
    small!.release()
    expect(pool.available).toBe(2)
  })

  it('never lets two leases share a GPU under many random concurrent acquires, releases and aborts', async () => {
    let seed = 12345
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const gpus = [0, 1, 2, 3, 4].map((i) => gpu(i, i % 2 === 0))
    const pool = new GpuPool(gpus)
    const holder = new Map<number, number>() // GPU index -> task id holding it
    let granted = 0
    let aborted = 0
    let maxHeld = 0

    const task = async (id: number): Promise<void> => {
      await new Promise((r) => setTimeout(r, rand(5)))
      const n = rand(gpus.length + 1)
      const ac = new AbortController()
      const willAbort = rand(10) === 0
      if (willAbort) setTimeout(() => ac.abort(new Error('abort')), rand(4))
      let lease
      try {
        lease = await pool.acquire(n, `t${id}`, ac.signal)
      } catch (error) {
        expect((error as Error).message).toBe('abort')
        aborted++
        return
      }
      granted++
      expect(lease.gpus).toHaveLength(n)
      expect(lease.cudaVisibleDevices === undefined).toBe(n === 0)
      for (const g of lease.gpus) {
        expect(holder.has(g.index), `GPU ${g.index} given to t${id} while t${holder.get(g.index)} holds it`).toBe(false)
        holder.set(g.index, id)
      }
      maxHeld = Math.max(maxHeld, holder.size)
      // Leases granted whose awaiters have not run yet are in neither count.
      expect(holder.size + pool.available).toBeLessThanOrEqual(gpus.length)
      // Hold it across a few turns of the event loop, sometimes none.
      const hold = rand(4)
      for (let i = 0; i < hold; i++) await new Promise((r) => setTimeout(r, rand(3)))
      for (const g of lease.gpus) {
        expect(holder.get(g.index)).toBe(id)
        holder.delete(g.index)
      }
      lease.release()
      if (rand(2) === 0) lease.release()
    }

    await Promise.all(Array.from({length: 400}, (_, i) => task(i)))
    expect(granted + aborted).toBe(400)
    expect(granted).toBeGreaterThan(300)
    expect(maxHeld).toBeGreaterThan(1)
    expect(holder.size).toBe(0)
    expect(pool.available).toBe(gpus.length)
    expect(pool.waiting).toBe(0)
  })
})
