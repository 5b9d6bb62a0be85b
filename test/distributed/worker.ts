// One rank of the process-group tests: joins from torchrun's variables, runs a scenario, prints one JSON line.
import { distributedFromEnv, DistributedError, ProcessGroup } from '../../src/distributed/index.js';
import { getNumThreads, tensor } from '../../src/torch/index.js';

const scenario = process.argv[2];
const config = distributedFromEnv();
if (!config) throw new Error('worker: WORLD_SIZE is not set');
const { rank } = config;
const print = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

try {
  const pg = ProcessGroup.init(config);
  if (scenario === 'collectives') {
    // rank r holds [r+1, 10(r+1)]: sums, averages, max over ranks
    const sum = tensor([rank + 1, 10 * (rank + 1)]);
    pg.allReduce(sum);
    const avg = [tensor([[rank + 1, 2 * (rank + 1)]]), tensor([-(rank + 1)], { dtype: 'float64' })];
    pg.allReduce(avg.slice(0, 1), 'avg');
    pg.allReduce(avg.slice(1), 'avg');
    const a = tensor([rank, 100 + rank, 1]);
    const b = tensor([[rank * 3, 5], [7, -rank]]);
    pg.allReduce([a, b]); // coalesced: two shapes in one message
    const max = tensor([rank, -rank], { dtype: 'int64' });
    pg.allReduce(max, 'max');
    const bcast = tensor([rank * 7 + 1, rank]);
    pg.broadcast(bcast, 1);
    const gathered = pg.allGather(tensor([[rank, rank * rank]]));
    pg.barrier();
    print({ rank, sum: sum.toArray(), avg: avg.map((t) => t.toArray()), a: a.toArray(), b: b.toArray(), max: max.toArray(), bcast: bcast.toArray(), gathered: gathered.map((t) => t.toArray()) });
  } else if (scenario === 'lose-peer') {
    // the rank named by argv[3] exits after the first barrier; the others try one more all-reduce
    pg.barrier();
    if (rank === Number(process.argv[3])) process.exit(0);
    pg.allReduce(tensor([1, 2]));
    print({ rank, unexpected: 'the all-reduce succeeded' });
  } else if (scenario === 'env') {
    // what `safealign launch` gave this rank, and a sum of the ranks to show the group works
    const ranks = tensor([rank]);
    pg.allReduce(ranks);
    const names = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'GROUP_RANK', 'MASTER_ADDR', 'SAFEALIGN_THREADS', 'OMP_NUM_THREADS', 'SAFEALIGN_DIST_TIMEOUT', 'SAFEALIGN_DIST_JOIN_TIMEOUT'];
    print({ rank, env: Object.fromEntries(names.map((n) => [n, process.env[n]])), threads: getNumThreads(), sumOfRanks: ranks.toArray() });
  } else if (scenario === 'exit') {
    // the rank named by argv[3] exits with code 3; the others sleep (a launcher must stop them)
    if (rank === Number(process.argv[3])) process.exit(3);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    print({ rank, unexpected: 'not stopped' });
  } else if (scenario === 'stall') {
    // the rank named by argv[3] sleeps through the timeout before its all-reduce; the others wait in theirs
    pg.barrier();
    if (rank === Number(process.argv[3])) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[4]));
    pg.allReduce(tensor([1, 2]));
    print({ rank, unexpected: 'the all-reduce succeeded' });
  } else {
    throw new Error(`worker: unknown scenario ${scenario}`);
  }
} catch (e) {
  if (!(e instanceof DistributedError)) throw e;
  print({ rank, error: e.name, message: e.message, lostRanks: e.lostRanks });
}
