/**
 * The worker of readParquetRows (./parquet.ts): reads row groups [from, to) of a Parquet file with
 * ids of its own and posts them back (typed arrays transferred), or the error, as its only message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readParquetPart, type ParquetPartRequest } from './parquet.js';
import { DataFormatError } from './errors.js';

const port = parentPort;
if (port) {
  readParquetPart(workerData as ParquetPartRequest).then(
    (part) => {
      const arrays = [part.user, part.item, part.rating, part.timestamp, part.line].filter((a) => a !== null);
      port.postMessage({ part }, [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]);
    },
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      port.postMessage({ error: { message, ...(e instanceof DataFormatError ? { dataFormat: { file: e.file, line: e.line, value: e.value } } : {}) } });
    },
  );
}
