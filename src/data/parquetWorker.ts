/**
 * The worker of readParquetRows (./parquet.ts): reads row groups [from, to) of a Parquet file with
 * ids of its own and posts them back (typed arrays transferred), or the error. Then, when asked,
 * checks half of the users of the whole file (on shared memory) for a repeated (user, item) pair.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readParquetPart, type ParquetPartRequest } from './parquet.js';
import { PAIR_CHECK_TIMEOUT_MS, repeatedPairPart, type SharedPairCheck } from './repeatedPairs.js';
import { DataFormatError } from './errors.js';

const port = parentPort;
if (port) {
  readParquetPart(workerData as ParquetPartRequest).then(
    (part) => {
      const arrays = [part.user, part.item, part.rating, part.timestamp, part.line, part.userBytes?.bytes, part.userBytes?.ends, part.itemBytes?.bytes, part.itemBytes?.ends]
        .filter((a) => a !== null && a !== undefined);
      port.postMessage({ part }, [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]);
      port.once('message', (m: { check?: SharedPairCheck }) => {
        if (m.check) port.postMessage({ repeated: repeatedPairPart(m.check, 1, PAIR_CHECK_TIMEOUT_MS) ?? null });
      });
    },
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      port.postMessage({ error: { message, ...(e instanceof DataFormatError ? { dataFormat: { file: e.file, line: e.line, value: e.value } } : {}) } });
    },
  );
}
