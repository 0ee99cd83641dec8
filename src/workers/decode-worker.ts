/**
 * A decode worker (worker thread): for each task, reads the object's row groups with ranged GETs on URLs the pool
 * presigns on the main thread (remote-reader.ts: this thread loads no object store client and holds no
 * credentials), decodes them
 * the way the adapter's encoder module takes them, applies the run's row filter and encodes pieces of at most
 * `pieceRows` rows (encode-object.ts), and transfers each piece's bytes to the main thread while it holds a credit. One task at a time;
 * an error ends the task with a serialized error (typed errors keep their code). Pieces are encoded into the
 * thread's reusable buffers (piece-buffers.ts), which come back (`recycle`) once the consumer released them; row
 * groups are downloaded into the thread's reused buffers (src/parquet/buffer-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { BufferPool } from '../parquet/buffer-pool.ts';
import { encodeObject, loadEncoder } from './encode-object.ts';
import { PieceBuffers } from './piece-buffers.ts';
import {
  deserializeError,
  serializeError,
  type DecodeTask,
  type FromWorker,
  type ToWorker,
} from './protocol.ts';
import { remoteRangeReader } from './remote-reader.ts';

const port = parentPort;
if (!port) throw new Error('decode-worker.ts runs as a worker thread (src/workers/pool.ts starts it)');

interface Flow {
  credits: number;
  cancelled: boolean;
  wake: (() => void) | undefined;
}

const flows = new Map<number, Flow>();
const buffers = new PieceBuffers();
/** Row groups are downloaded into these (the current one and the one prefetched). */
const rowGroupBuffers = new BufferPool();
const alloc = (size: number): Uint8Array => buffers.take(size);
/** URLs the main thread is presigning for this thread (remote-reader.ts), by request number. */
const signing = new Map<number, { resolve: (url: string) => void; reject: (error: Error) => void }>();
let nextSign = 1;

function signerFor(task: DecodeTask) {
  return (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const sign = nextSign++;
      signing.set(sign, { resolve, reject });
      send({ type: 'sign', id: task.id, sign });
    });
}

function send(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port!.postMessage(message, transfer ?? []);
}

/** Bytes that own their whole ArrayBuffer (so it can be transferred without moving anything else). */
function owned(bytes: Uint8Array): Uint8Array {
  const whole =
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer;
  return whole ? bytes : bytes.slice();
}

async function credit(flow: Flow): Promise<void> {
  while (flow.credits <= 0 && !flow.cancelled) {
    await new Promise<void>((resolve) => (flow.wake = resolve));
    flow.wake = undefined;
  }
  flow.credits -= 1;
}

/** Runs one task; always ends with exactly one `done` or `error` message (also when cancelled), which frees the worker. */
async function run(task: DecodeTask): Promise<void> {
  const flow: Flow = { credits: task.window, cancelled: false, wake: undefined };
  flows.set(task.id, flow);
  let rows = 0;
  let end: FromWorker;
  try {
    const encoder = await loadEncoder(task.encoder);
    const pieces = encodeObject({
      buffer: remoteRangeReader(task.object, signerFor(task), task.store),
      object: task.object,
      columns: task.columns,
      filter: task.filter,
      encoder,
      pieceRows: task.pieceRows,
      alloc,
      rowGroupBuffers,
    });
    for await (const piece of pieces) {
      await credit(flow);
      if (flow.cancelled) break;
      // A pooled piece is a view at the start of its buffer: the whole buffer travels (and comes back).
      const pooled = buffers.isPooled(piece.bytes.buffer);
      const bytes = pooled ? piece.bytes : owned(piece.bytes);
      const { rowGroup, rows: pieceRows, summary } = piece;
      send({ type: 'piece', id: task.id, rowGroup, rows: pieceRows, bytes, pooled, summary }, [
        bytes.buffer as ArrayBuffer,
      ]);
      rows += piece.rows;
    }
    end = { type: 'done', id: task.id, rows, buffers: buffers.stats() };
  } catch (error) {
    end = { type: 'error', id: task.id, error: serializeError(error) };
  } finally {
    flows.delete(task.id);
  }
  send(end);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'task':
      void run(message.task);
      break;
    case 'recycle':
      buffers.give(message.buffer);
      break;
    case 'signed':
    case 'sign-error': {
      const pending = signing.get(message.sign);
      if (!pending) break;
      signing.delete(message.sign);
      if (message.type === 'signed') pending.resolve(message.url);
      else pending.reject(deserializeError(message.error));
      break;
    }
    case 'credit':
    case 'cancel': {
      const flow = flows.get(message.id);
      if (!flow) break;
      if (message.type === 'credit') flow.credits += 1;
      else flow.cancelled = true;
      flow.wake?.();
      break;
    }
  }
});
