// A worker thread of `xtban scan`: scans one byte range of a log and hands back what it found.
import { parentPort, workerData } from 'node:worker_threads';
import { scanRange, type RangeJob } from './scan-range.js';

const result = await scanRange(workerData as RangeJob);
parentPort?.postMessage(result, [result.which.buffer as ArrayBuffer, result.times.buffer as ArrayBuffer]);
