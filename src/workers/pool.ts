/**
 * A pool of decode worker threads (decode-worker.ts). `decode` queues one object and yields its encoded pieces
 * in order; `decodeObjects` does so for a batch's objects with the next ones already decoding (`lookahead`),
 * so download, decoding and encoding of object i+1 overlap the sending of object i. A slow consumer holds its
 * worker back through credits (memory per task: at most `window` pieces). Breaking out of the iteration
 * cancels the task. A worker that dies fails its task with an error naming the object, and is replaced. A piece
 * encoded into one of its thread's reusable buffers carries `release`, which transfers the buffer back.
 *
 * The pool also presigns the URLs the threads read their objects with (`sign` messages, answered with the main
 * thread's S3 client; remote-reader.ts): a thread loads no AWS SDK (0.2 s of start and about 12 MiB each) and
 * holds no credentials.
 *
 * Threads are started on first use (or all at once by `warm()`) and stay until `close()`. When this module runs from TypeScript sources
 * (tsx, vitest) the worker registers tsx's loader before importing decode-worker.ts; from built JavaScript it
 * imports decode-worker.js directly.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { RowFilter } from '../adapter/contract.ts';
import { ShadowfillError } from '../errors.ts';
import { bucketOf } from '../source/range-reader.ts';
import { createS3Client, mapS3Error } from '../source/s3-client.ts';
import type { ObjectStoreLocation, SourceObject } from '../source/types.ts';
import type { EncodedPiece, EncoderSpec } from './encoder.ts';
import type { PieceBufferStats } from './piece-buffers.ts';
import { PRESIGN_SECONDS } from './remote-reader.ts';
import {
  deserializeError,
  serializeError,
  type DecodeTask,
  type FromWorker,
  type ToWorker,
} from './protocol.ts';

export interface DecodeRequest {
  readonly location: ObjectStoreLocation;
  readonly object: SourceObject;
  readonly columns: readonly string[];
  readonly filter?: RowFilter | undefined;
  readonly encoder: EncoderSpec;
  /** Rows per piece. Default 16,384. */
  readonly pieceRows?: number;
  /** Pieces in flight per task before the consumer takes one. Default 4. */
  readonly window?: number;
}

export interface DecodePoolOptions {
  /** Worker threads (≥ 1). */
  readonly threads: number;
}

/** The decode pool a run starts, and why that many threads. */
export interface DecodeThreads {
  readonly threads: number;
  /** `2 CPU cores, shared by the 4 workers`, `one per worker`. */
  readonly reason: string;
}

/**
 * The decode pool for `workers` lanes: when several lanes load a target that takes encoded pieces, one thread per
 * lane up to the machine's cores — the lanes share them (the pool queues objects), since a thread beyond the
 * cores adds its memory (an isolate, its row group, its buffers) and no speed. Undefined otherwise: each lane
 * decodes on the main thread.
 */
export function decodeThreadsFor(
  workers: number,
  encoded: boolean,
  cores: number = availableParallelism(),
): DecodeThreads | undefined {
  if (workers <= 1 || !encoded) return undefined;
  const threads = Math.max(1, Math.min(workers, cores));
  return {
    threads,
    reason:
      threads < workers
        ? `${cores} CPU core${cores === 1 ? '' : 's'}, shared by the ${workers} workers`
        : 'one per worker',
  };
}

interface Task {
  readonly id: number;
  readonly request: DecodeRequest;
  readonly pieces: EncodedPiece[];
  slot: Slot | undefined;
  wake: (() => void) | undefined;
  done: boolean;
  error: Error | undefined;
  cancelled: boolean;
}

interface Slot {
  readonly worker: Worker;
  task: Task | undefined;
}

const DEFAULT_PIECE_ROWS = 16_384;
const DEFAULT_WINDOW = 4;

/**
 * A decode thread's young generation (V8 grows it up to ~48 MiB by default). The threads allocate few JS objects
 * (raw columnar decoding) and most of their memory is ArrayBuffers, which a scavenge frees: a small young
 * generation keeps both the heap and the buffers awaiting collection small (memory benchmark: −20 MiB a thread,
 * no throughput lost).
 */
const DECODE_YOUNG_GENERATION_MB = 8;

const require = createRequire(import.meta.url);

function startWorker(): Worker {
  const here = fileURLToPath(import.meta.url);
  const entry = new URL(`./decode-worker${extname(here)}`, import.meta.url);
  const resourceLimits = { maxYoungGenerationSizeMb: DECODE_YOUNG_GENERATION_MB };
  if (extname(here) !== '.ts') return new Worker(entry, { resourceLimits });
  // From TypeScript sources: register tsx's ESM loader inside the thread, then import the worker module.
  const cjs = require.resolve('tsx/esm/api');
  const esm = cjs.replace(/\.cjs$/, '.mjs');
  const api = pathToFileURL(existsSync(esm) ? esm : cjs).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, execArgv: [], resourceLimits });
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly bufferStats = new Map<Slot, PieceBufferStats>();
  private readonly clients = new Map<string, S3Client>();

  constructor(private readonly options: DecodePoolOptions) {
    if (!(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new RangeError(`threads must be an integer ≥ 1, got ${options.threads}`);
    }
  }

  get threads(): number {
    return this.options.threads;
  }

  /** Starts every thread now instead of on first use (a thread's start costs a module load and a cold JIT). */
  warm(): void {
    while (!this.closed && this.slots.length < this.options.threads) this.addSlot();
  }

  /** The object's encoded pieces, in order. */
  decode(request: DecodeRequest): AsyncIterable<EncodedPiece> {
    return this.drain(this.submit(request));
  }

  /** The pieces of `objects` in order, with up to `lookahead` further objects decoding ahead. */
  async *decodeObjects(
    objects: readonly SourceObject[],
    common: Omit<DecodeRequest, 'object'>,
    lookahead = 1,
  ): AsyncIterable<EncodedPiece> {
    const tasks: Task[] = [];
    try {
      for (let i = 0; i < objects.length; i++) {
        while (tasks.length < objects.length && tasks.length <= i + lookahead) {
          tasks.push(this.submit({ ...common, object: objects[tasks.length]! }));
        }
        yield* this.drain(tasks[i]!);
      }
    } finally {
      for (const task of tasks) if (!task.done) this.cancel(task);
    }
  }

  /**
   * Piece buffers of the threads, as of their last finished task: how many were allocated and how many pieces
   * reused one a consumer released (piece-buffers.ts).
   */
  pieceBufferStats(): PieceBufferStats {
    const sum = { allocated: 0, reused: 0, unpooled: 0 };
    for (const s of this.bufferStats.values()) {
      sum.allocated += s.allocated;
      sum.reused += s.reused;
      sum.unpooled += s.unpooled;
    }
    return sum;
  }

  /** Stops every thread; tasks still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) this.fail(task, new Error('the decode pool was closed'));
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private submit(request: DecodeRequest): Task {
    if (this.closed) throw new Error('the decode pool is closed');
    const task: Task = {
      id: this.nextId++,
      request,
      pieces: [],
      slot: undefined,
      wake: undefined,
      done: false,
      error: undefined,
      cancelled: false,
    };
    this.queue.push(task);
    this.schedule();
    return task;
  }

  private async *drain(task: Task): AsyncIterable<EncodedPiece> {
    try {
      for (;;) {
        const piece = task.pieces.shift();
        if (piece) {
          if (task.slot) this.post(task.slot, { type: 'credit', id: task.id });
          yield piece;
          continue;
        }
        if (task.error) throw task.error;
        if (task.done) return;
        await new Promise<void>((resolve) => (task.wake = resolve));
        task.wake = undefined;
      }
    } finally {
      if (!task.done) this.cancel(task);
    }
  }

  private cancel(task: Task): void {
    if (task.cancelled || task.done) return;
    task.cancelled = true;
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      task.done = true;
    } else if (task.slot) {
      this.post(task.slot, { type: 'cancel', id: task.id });
    }
    task.pieces.length = 0;
  }

  private schedule(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (!slot && this.slots.length < this.options.threads) slot = this.addSlot();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      task.slot = slot;
      const r = task.request;
      const message: DecodeTask = {
        id: task.id,
        object: r.object,
        store: { endpoint: r.location.endpoint, region: r.location.region, bucket: r.location.bucket },
        columns: r.columns,
        filter: r.filter,
        encoder: r.encoder,
        pieceRows: r.pieceRows ?? DEFAULT_PIECE_ROWS,
        window: r.window ?? DEFAULT_WINDOW,
      };
      this.post(slot, { type: 'task', task: message });
    }
  }

  private addSlot(): Slot {
    const slot: Slot = { worker: startWorker(), task: undefined };
    this.slots.push(slot);
    slot.worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    const lost = (reason: string) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return; // closed, or already handled
      this.slots.splice(index, 1);
      const task = slot.task;
      slot.task = undefined;
      if (task) {
        this.fail(
          task,
          new ShadowfillError(
            'BATCH_FAILED',
            `the decode worker reading ${task.request.object.uri} stopped (${reason}) — the batch is retried`,
          ),
        );
      }
      this.schedule();
    };
    slot.worker.on('error', (error: Error) => lost(error.message.split('\n')[0] ?? 'error'));
    slot.worker.on('exit', (code) => lost(`exit code ${code}`));
    return slot;
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    const task = slot.task;
    if (message.type === 'sign') {
      void this.serveSign(slot, task && task.id === message.id ? task : undefined, message);
      return;
    }
    if (!task || task.id !== message.id) return;
    switch (message.type) {
      case 'piece':
        if (!task.cancelled) {
          task.pieces.push({
            object: task.request.object,
            rowGroup: message.rowGroup,
            rows: message.rows,
            bytes: message.bytes,
            ...(message.summary !== undefined ? { summary: message.summary } : {}),
            ...(message.pooled ? { release: this.releaser(slot, message.bytes) } : {}),
          });
        }
        break;
      case 'done':
        this.bufferStats.set(slot, message.buffers);
        task.done = true;
        slot.task = undefined;
        task.slot = undefined;
        this.schedule();
        break;
      case 'error':
        slot.task = undefined;
        task.slot = undefined;
        this.fail(task, deserializeError(message.error));
        this.schedule();
        break;
    }
    task.wake?.();
  }

  /**
   * Presigns a GET URL of a task's object for its thread (remote-reader.ts), with this thread's S3 client (one per
   * location): the threads hold no client and no credentials.
   */
  private async serveSign(
    slot: Slot,
    task: Task | undefined,
    message: Extract<FromWorker, { type: 'sign' }>,
  ): Promise<void> {
    let reply: ToWorker;
    try {
      if (!task) throw new Error('the task was cancelled');
      const { location, object } = task.request;
      const url = await getSignedUrl(
        this.clientFor(location),
        new GetObjectCommand({ Bucket: bucketOf(object), Key: object.key }),
        { expiresIn: PRESIGN_SECONDS },
      );
      reply = { type: 'signed', sign: message.sign, url };
    } catch (error) {
      reply = {
        type: 'sign-error',
        sign: message.sign,
        error: serializeError(mapS3Error(error, `sign a read of ${task?.request.object.uri ?? 'an object'}`)),
      };
    }
    if (!this.closed && this.slots.includes(slot)) slot.worker.postMessage(reply);
  }

  private clientFor(location: ObjectStoreLocation): S3Client {
    const key = JSON.stringify([location.endpoint, location.region, location.bucket, location.credentials]);
    let client = this.clients.get(key);
    if (!client) {
      client = createS3Client(location);
      this.clients.set(key, client);
    }
    return client;
  }

  /** Gives a pooled piece's buffer back to the thread that encoded it (once; not after the thread is gone). */
  private releaser(slot: Slot, bytes: Uint8Array): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const buffer = bytes.buffer;
      if (this.closed || !this.slots.includes(slot) || !(buffer instanceof ArrayBuffer)) return;
      if (buffer.byteLength === 0) return; // already detached
      const message: ToWorker = { type: 'recycle', buffer };
      slot.worker.postMessage(message, [buffer]);
    };
  }

  private fail(task: Task, error: Error): void {
    task.error = error;
    task.done = true;
    task.slot = undefined;
    task.wake?.();
  }

  private post(slot: Slot, message: ToWorker): void {
    slot.worker.postMessage(message);
  }
}
